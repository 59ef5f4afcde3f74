"""Task modules of detectors: prior (anchor) generators and box coders."""
from .coders import DeltaXYWHBBoxCoder
from .prior_generators import AnchorGenerator, base_anchors, grid_anchors

__all__ = ['AnchorGenerator', 'DeltaXYWHBBoxCoder', 'base_anchors', 'grid_anchors']
