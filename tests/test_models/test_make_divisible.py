import pytest

from segdet.models.utils import make_divisible


@pytest.mark.parametrize('value, divisor, min_value, expected', [
    (24, 8, None, 24),      # already a multiple
    (32 * 0.75, 8, None, 24),
    (26, 8, None, 24),      # nearest multiple, 24 >= 0.9 * 26
    (27, 8, None, 32),      # nearest is 24, but 24 < 0.9 * 27
    (28, 8, None, 32),      # 28 + 4 rounds up
    (10, 8, None, 16),      # 8 < 0.9 * 10: one divisor more
    (3, 8, None, 8),        # never below min_value (= divisor)
    (3, 8, 4, 4),
    (16 * 0.35, 8, None, 8),
    (96 * 1.4, 8, None, 136),
])
def test_hand_computed(value, divisor, min_value, expected):
    assert make_divisible(value, divisor, min_value) == expected


def test_bad_divisor():
    with pytest.raises(ValueError, match='divisor must be >= 1, got 0'):
        make_divisible(16, 0)
