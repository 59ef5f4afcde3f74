"""Data sets (segmentation, COCO detection), transforms and the synthetic shapes generator."""
from .ade import ADE20KDataset
from .basesegdataset import BaseSegDataset
from .builder import build_split_dataset
from .cityscapes import CityscapesDataset
from .coco import CocoDataset
from .samplers import AspectRatioBatchSampler
from .shapes import ShapesDataset
from .transforms import (LoadAnnotations, LoadImageFromNDArray, PackDetInputs, PackSegInputs,
                         PhotoMetricDistortion, RandomCrop, RandomFlip, Resize)
from .voc import PascalVOCDataset

__all__ = [
    'BaseSegDataset', 'CityscapesDataset', 'ADE20KDataset', 'PascalVOCDataset', 'ShapesDataset',
    'LoadAnnotations', 'LoadImageFromNDArray', 'RandomCrop', 'PhotoMetricDistortion',
    'PackSegInputs', 'CocoDataset', 'PackDetInputs', 'Resize', 'RandomFlip',
    'AspectRatioBatchSampler', 'build_split_dataset'
]
