"""Data transforms.

Importing ``mmcv.transforms`` registers its transforms (LoadImageFromFile, Resize,
RandomResize, RandomFlip, RandomChoiceResize, Pad, TestTimeAug, ...) in mmengine's root
TRANSFORMS, which segdet's TRANSFORMS falls back to, so configs name them directly.
"""
import mmcv.transforms  # noqa: F401  (registers mmcv's transforms)

from .formatting import PackSegInputs
from .loading import LoadAnnotations, LoadImageFromNDArray
from .transforms import PhotoMetricDistortion, RandomCrop

__all__ = [
    'LoadAnnotations', 'LoadImageFromNDArray', 'RandomCrop', 'PhotoMetricDistortion',
    'PackSegInputs'
]
