from .anchor_generator import AnchorGenerator, base_anchors, grid_anchors
from .torchvision_anchor_generator import TorchvisionAnchorGenerator, rounded_base_anchors

__all__ = ['AnchorGenerator', 'TorchvisionAnchorGenerator', 'base_anchors', 'grid_anchors',
           'rounded_base_anchors']
