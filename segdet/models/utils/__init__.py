"""Small helpers shared by models."""
from .forward_modes import FORWARD_MODES, dispatch_forward
from .misc import unpack_gt_instances
from .wrappers import resize

__all__ = ['resize', 'FORWARD_MODES', 'dispatch_forward', 'unpack_gt_instances']
