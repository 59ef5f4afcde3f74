"""Data preprocessors: batch a collated list of samples into model inputs."""
from .det_data_preprocessor import DetDataPreprocessor
from .seg_data_preprocessor import SegDataPreProcessor, padded_size, stack_batch

__all__ = ['SegDataPreProcessor', 'DetDataPreprocessor', 'padded_size', 'stack_batch']
