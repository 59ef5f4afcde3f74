"""Task modules: prior (anchor) generators, box coders, assigners and samplers of detectors;
the pixel samplers (OHEM) of decode heads."""
from .assigners import AssignResult, MaxIoUAssigner, assign_by_overlaps
from .coders import DeltaXYWHBBoxCoder
from .prior_generators import (AnchorGenerator, TorchvisionAnchorGenerator, base_anchors,
                               grid_anchors)
from .samplers import (BasePixelSampler, OHEMPixelSampler, PseudoSampler, RandomSampler,
                       SamplingResult, build_pixel_sampler)

__all__ = ['AnchorGenerator', 'AssignResult', 'BasePixelSampler', 'DeltaXYWHBBoxCoder',
           'MaxIoUAssigner', 'OHEMPixelSampler', 'PseudoSampler', 'RandomSampler',
           'SamplingResult', 'TorchvisionAnchorGenerator', 'assign_by_overlaps', 'base_anchors',
           'build_pixel_sampler', 'grid_anchors']
