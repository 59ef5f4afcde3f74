"""Data sets, transforms and the synthetic shapes generator."""
from .ade import ADE20KDataset
from .basesegdataset import BaseSegDataset
from .cityscapes import CityscapesDataset
from .shapes import ShapesDataset
from .transforms import (LoadAnnotations, LoadImageFromNDArray, PackSegInputs,
                         PhotoMetricDistortion, RandomCrop)
from .voc import PascalVOCDataset

__all__ = [
    'BaseSegDataset', 'CityscapesDataset', 'ADE20KDataset', 'PascalVOCDataset', 'ShapesDataset',
    'LoadAnnotations', 'LoadImageFromNDArray', 'RandomCrop', 'PhotoMetricDistortion',
    'PackSegInputs'
]
