"""Box math as pure functions: (x1, y1, x2, y2) boxes, deltas, overlaps."""
from .box_ops import bbox_overlaps, delta_to_bbox, bbox_to_delta

__all__ = ['bbox_overlaps', 'bbox_to_delta', 'delta_to_bbox']
