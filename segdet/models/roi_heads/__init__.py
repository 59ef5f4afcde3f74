"""Second-stage (RoI) heads of two-stage detectors."""
from .bbox_heads import (BBoxHead, ConvFCBBoxHead, Shared2FCBBoxHead, Shared4Conv1FCBBoxHead,
                         empty_instances, multiclass_nms)
from .base_roi_head import BaseRoIHead
from .fbnet_roi_head import FBNetRoIHead
from .keypoint_heads import KeypointRCNNHead
from .keypoint_roi_head import KeypointRoIHead
from .mask_heads import FBNetMaskHead, FCNMaskHead
from .roi_extractors import RoIAlign, SingleRoIExtractor, map_roi_levels
from .shared_heads import FBNetHeadStage, ResLayer
from .standard_roi_head import StandardRoIHead

__all__ = ['BaseRoIHead', 'BBoxHead', 'ConvFCBBoxHead', 'Shared2FCBBoxHead',
           'Shared4Conv1FCBBoxHead', 'FBNetHeadStage', 'FBNetMaskHead', 'FBNetRoIHead',
           'FCNMaskHead', 'KeypointRCNNHead', 'KeypointRoIHead',
           'SingleRoIExtractor', 'RoIAlign', 'ResLayer', 'StandardRoIHead', 'multiclass_nms',
           'empty_instances', 'map_roi_levels']
