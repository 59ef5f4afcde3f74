"""Decode heads of semantic segmentation (registered in ``MODELS``)."""
from .aspp_head import ASPPHead, ASPPModule
from .cascade_decode_head import BaseCascadeDecodeHead
from .decode_head import BaseDecodeHead
from .fcn_head import FCNHead
from .ocr_head import ObjectAttentionBlock, OCRHead, SpatialGatherModule
from .psp_head import PPM, PSPHead
from .sep_aspp_head import DepthwiseSeparableASPPHead, DepthwiseSeparableASPPModule

__all__ = [
    'BaseDecodeHead', 'BaseCascadeDecodeHead', 'FCNHead', 'PPM', 'PSPHead', 'ASPPModule',
    'ASPPHead', 'DepthwiseSeparableASPPModule', 'DepthwiseSeparableASPPHead',
    'SpatialGatherModule', 'ObjectAttentionBlock', 'OCRHead',
]
