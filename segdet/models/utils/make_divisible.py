"""Channel rounding of the MobileNet family (MobileNetV2/V3, FastSCNN-style widths)."""
from typing import Optional


def make_divisible(value: float, divisor: int, min_value: Optional[int] = None,
                   min_ratio: float = 0.9) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, never below ``min_value``
    and never more than ``1 - min_ratio`` below ``value`` (then one ``divisor`` is added).

    The rounding of mmseg's / the MobileNet papers' ``make_divisible``: e.g. 32 * 0.75 = 24
    stays 24 with divisor 8; 10 with divisor 8 rounds to 8, which is below 0.9 * 10, so 16.

    Args:
        value: The unrounded channel count (a width times a widen factor).
        divisor: The multiple to round to, >= 1.
        min_value: Lower bound; ``divisor`` when None.
        min_ratio: The rounded value is at least ``min_ratio * value``.

    Returns:
        The rounded channel count (>= ``min_value``).

    Raises:
        ValueError: ``divisor`` < 1.
    """
    if divisor < 1:
        raise ValueError(f'make_divisible: divisor must be >= 1, got {divisor}')
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < min_ratio * value:
        rounded += divisor
    return rounded
