"""Data transforms.

Importing ``mmcv.transforms`` registers its transforms (Resize, RandomResize, RandomFlip,
RandomChoiceResize, Pad, TestTimeAug, ...) in mmengine's root TRANSFORMS, which segdet's
TRANSFORMS falls back to, so configs name them directly. ``LoadImageFromFile`` is mmcv's with
errors that name the file (:class:`BadSampleError`). ``Resize`` and ``RandomFlip`` are mmcv's
subclassed to also carry instance masks (``gt_masks``).
"""
import mmcv.transforms  # noqa: F401  (registers mmcv's transforms)

from .det_transforms import RandomFlip, Resize
from .formatting import PackDetInputs, PackSegInputs
from .loading import (BadSampleError, LoadAnnotations, LoadImageFromFile, LoadImageFromNDArray,
                      LoadProposals)
from .transforms import PhotoMetricDistortion, RandomCrop, ResizeShortestEdge

__all__ = [
    'BadSampleError', 'LoadAnnotations', 'LoadImageFromFile', 'LoadImageFromNDArray', 'RandomCrop',
    'PhotoMetricDistortion', 'PackSegInputs', 'PackDetInputs', 'Resize', 'RandomFlip',
    'ResizeShortestEdge', 'LoadProposals'
]
