"""Box math as pure functions: (x1, y1, x2, y2) boxes, deltas, overlaps, RoIs."""
from .box_ops import bbox_overlaps, bbox_to_delta, delta_to_bbox
from .roi_ops import (bbox2roi, box_sizes, boxes_to_original, clip_boxes, roi_counts,
                      scale_boxes)

__all__ = ['bbox_overlaps', 'bbox_to_delta', 'delta_to_bbox', 'bbox2roi', 'roi_counts',
           'scale_boxes', 'boxes_to_original', 'clip_boxes', 'box_sizes']
