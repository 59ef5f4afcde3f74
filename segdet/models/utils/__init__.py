"""Small helpers shared by models."""
from .forward_modes import FORWARD_MODES, dispatch_forward
from .inverted_residual import InvertedResidual
from .inverted_residual_v3 import InvertedResidualV3
from .make_divisible import make_divisible
from .misc import unpack_gt_instances
from .se_layer import SELayer
from .split_attention import RSoftmax, SplitAttentionConv2d
from .wrappers import Upsample, resize

__all__ = ['resize', 'Upsample', 'FORWARD_MODES', 'dispatch_forward', 'unpack_gt_instances',
           'make_divisible', 'InvertedResidual', 'InvertedResidualV3', 'SELayer',
           'RSoftmax', 'SplitAttentionConv2d']
