"""AspectRatioBatchSampler: batches never mix landscape and portrait images."""
import pytest

from segdet.datasets import AspectRatioBatchSampler


class FakeDataset:

    def __init__(self, shapes):
        self.shapes = shapes

    def get_data_info(self, idx):
        w, h = self.shapes[idx]
        return dict(width=w, height=h)


class ListSampler(list):

    def __init__(self, dataset, order):
        super().__init__(order)
        self.dataset = dataset


SHAPES = [(10, 5), (5, 10), (10, 10), (5, 10), (8, 4), (4, 8), (9, 3)]  # L P L P L P L


def test_full_batches_have_one_orientation_and_leftovers_are_kept():
    sampler = AspectRatioBatchSampler(ListSampler(FakeDataset(SHAPES), range(7)), 2)
    batches = list(sampler)
    assert batches == [[0, 2], [1, 3], [4, 6], [5]]
    assert len(sampler) == len(batches) == 4
    assert sorted(i for b in batches for i in b) == list(range(7))


def test_drop_last_drops_the_incomplete_batch():
    sampler = AspectRatioBatchSampler(ListSampler(FakeDataset(SHAPES), range(7)), 3,
                                      drop_last=True)
    batches = list(sampler)
    assert batches == [[0, 2, 4], [1, 3, 5]] and len(sampler) == 2


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='batch_size'):
        AspectRatioBatchSampler(ListSampler(FakeDataset(SHAPES), range(7)), 0)
    with pytest.raises(TypeError, match='dataset'):
        AspectRatioBatchSampler(list(range(3)), 2)
