"""Dense (per-prior) heads: the base classes, the RPN (and its FBNet variant)."""
from .anchor_head import AnchorHead, anchor_inside_flags, images_to_levels
from .base_dense_head import BaseDenseHead, filter_scores_and_topk, levels_to_images
from .fbnet_rpn_head import FBNetRPNHead
from .rpn_head import RPNHead, nms_proposals, select_proposals

__all__ = ['BaseDenseHead', 'AnchorHead', 'RPNHead', 'FBNetRPNHead', 'anchor_inside_flags',
           'images_to_levels', 'filter_scores_and_topk', 'levels_to_images', 'nms_proposals', 'select_proposals']
