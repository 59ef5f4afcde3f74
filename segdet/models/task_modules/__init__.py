"""Task modules of detectors: prior (anchor) generators, box coders, assigners, samplers."""
from .assigners import AssignResult, MaxIoUAssigner, assign_by_overlaps
from .coders import DeltaXYWHBBoxCoder
from .prior_generators import (AnchorGenerator, TorchvisionAnchorGenerator, base_anchors,
                               grid_anchors)
from .samplers import PseudoSampler, RandomSampler, SamplingResult

__all__ = ['AnchorGenerator', 'AssignResult', 'DeltaXYWHBBoxCoder', 'MaxIoUAssigner',
           'PseudoSampler', 'RandomSampler', 'SamplingResult', 'TorchvisionAnchorGenerator',
           'assign_by_overlaps',
           'base_anchors', 'grid_anchors']
