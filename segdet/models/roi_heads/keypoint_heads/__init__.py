"""Keypoint branches of RoI heads (Keypoint R-CNN)."""
from .keypoint_coder import (heatmaps_to_keypoints, keypoint_heatmap_loss,
                             keypoints_to_heatmap_targets)
from .keypoint_rcnn_head import KeypointRCNNHead

__all__ = ['KeypointRCNNHead', 'heatmaps_to_keypoints', 'keypoint_heatmap_loss',
           'keypoints_to_heatmap_targets']
