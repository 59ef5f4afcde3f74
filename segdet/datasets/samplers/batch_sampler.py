"""AspectRatioBatchSampler: batches of images that are all landscape or all portrait."""
from typing import Iterator, Sequence

from torch.utils.data import BatchSampler, Sampler

from segdet.registry import DATA_SAMPLERS


def is_landscape(data_info: dict) -> bool:
    """Whether an image (``width``/``height`` of its data info) is at least as wide as tall."""
    return data_info['width'] >= data_info['height']


@DATA_SAMPLERS.register_module()
class AspectRatioBatchSampler(BatchSampler):
    """Group the indices of a sampler into batches of one orientation (mmdetection's sampler).

    Padding a portrait and a landscape image to one batch shape wastes up to half of the
    batch; keeping orientations apart avoids it. Indices are taken in the sampler's order
    and put into one of two buckets; a bucket is emitted when full. The leftovers of both
    buckets are batched together at the end unless ``drop_last``.

    Args:
        sampler: Index sampler whose ``dataset`` has ``get_data_info(i)`` with width/height.
        batch_size: Images per batch.
        drop_last: Drop the final incomplete batch.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'AspectRatioBatchSampler: batch_size must be a positive int, '
                             f'got {batch_size!r}')
        if not hasattr(sampler, 'dataset'):
            raise TypeError('AspectRatioBatchSampler needs a sampler with a `dataset` '
                            f'attribute (e.g. DefaultSampler), got {type(sampler).__name__}')
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        buckets: Sequence[list[int]] = ([], [])
        dataset = self.sampler.dataset
        for idx in self.sampler:
            bucket = buckets[0 if is_landscape(dataset.get_data_info(idx)) else 1]
            bucket.append(idx)
            if len(bucket) == self.batch_size:
                yield bucket[:]
                del bucket[:]
        left = buckets[0] + buckets[1]
        while left:
            batch, left = left[:self.batch_size], left[self.batch_size:]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
