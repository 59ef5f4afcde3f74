"""Mask heads."""
from .fbnet_mask_head import FBNetMaskHead
from .fcn_mask_head import FCNMaskHead

__all__ = ['FBNetMaskHead', 'FCNMaskHead']
