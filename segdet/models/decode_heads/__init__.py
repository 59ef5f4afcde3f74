"""Decode heads of semantic segmentation (registered in ``MODELS``)."""
from .ann_head import AFNB, APNB, ANNHead, PPMConcat
from .apc_head import ACM, APCHead
from .aspp_head import ASPPHead, ASPPModule
from .cascade_decode_head import BaseCascadeDecodeHead
from .cc_head import CCHead
from .da_head import CAM, PAM, DAHead
from .decode_head import BaseDecodeHead
from .dm_head import DCM, DMHead
from .dnl_head import DisentangledNonLocal2d, DNLHead
from .ema_head import EMAHead, EMAModule
from .enc_head import EncHead, EncModule
from .fcn_head import FCNHead
from .fpn_head import FPNHead
from .gc_head import GCHead
from .lraspp_head import LRASPPHead
from .nl_head import NLHead
from .ocr_head import ObjectAttentionBlock, OCRHead, SpatialGatherModule
from .point_head import PointHead
from .psa_head import PSAHead
from .psp_head import PPM, PSPHead
from .sep_aspp_head import DepthwiseSeparableASPPHead, DepthwiseSeparableASPPModule
from .sep_fcn_head import DepthwiseSeparableFCNHead
from .uper_head import UPerHead

__all__ = [
    'BaseDecodeHead', 'BaseCascadeDecodeHead', 'FCNHead', 'PPM', 'PSPHead', 'ASPPModule',
    'ASPPHead', 'DepthwiseSeparableASPPModule', 'DepthwiseSeparableASPPHead',
    'SpatialGatherModule', 'ObjectAttentionBlock', 'OCRHead',
    'PointHead',
    'EncHead', 'EncModule', 'DAHead', 'PAM', 'CAM',
    'UPerHead', 'FPNHead',
    'APCHead', 'ACM', 'DMHead', 'DCM', 'ANNHead', 'AFNB', 'APNB', 'PPMConcat',
    'PSAHead', 'CCHead',
    'NLHead', 'DNLHead', 'DisentangledNonLocal2d', 'GCHead', 'EMAHead', 'EMAModule',
    'LRASPPHead',
    'DepthwiseSeparableFCNHead',
]
