from .anchor_generator import AnchorGenerator, base_anchors, grid_anchors

__all__ = ['AnchorGenerator', 'base_anchors', 'grid_anchors']
