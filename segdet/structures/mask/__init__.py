"""Instance-mask math as pure functions."""
from .mask_ops import (crop_and_resize_masks, paste_mask, paste_masks_detectron,
                       paste_masks_in_image)

__all__ = ['crop_and_resize_masks', 'paste_mask', 'paste_masks_detectron',
           'paste_masks_in_image']
