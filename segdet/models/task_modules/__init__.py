"""Task modules of detectors: prior (anchor) generators, box coders, assigners."""
from .assigners import AssignResult, MaxIoUAssigner, assign_by_overlaps
from .coders import DeltaXYWHBBoxCoder
from .prior_generators import AnchorGenerator, base_anchors, grid_anchors

__all__ = ['AnchorGenerator', 'AssignResult', 'DeltaXYWHBBoxCoder', 'MaxIoUAssigner',
           'assign_by_overlaps', 'base_anchors', 'grid_anchors']
