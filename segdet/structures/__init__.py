"""Data structures shared by both families."""
from .data_sample import DataSample, SampleList

__all__ = ['DataSample', 'SampleList']
