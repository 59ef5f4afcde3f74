"""Dense (per-anchor) heads."""
from .rpn_head import RPNHead, anchor_inside_flags, nms_proposals, select_proposals

__all__ = ['RPNHead', 'anchor_inside_flags', 'nms_proposals', 'select_proposals']
