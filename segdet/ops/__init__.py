"""One door to compiled kernels: torchvision.ops (CPU and CUDA kernels in its wheel).

Everything in segdet that needs NMS, RoIAlign or a box IoU calls these names, so a different
backend (e.g. an installed ``mmcv.ops``) could be swapped in here alone. ``roi_align`` and
``batched_nms`` spread large CPU calls over the intra-op threads (torchvision's CPU kernels use
one); their results are torchvision's (``cpu_parallel.py``).

PointRend's ``point_sample`` (mmcv's semantics) and its uncertainty-based point selection, which
mmcv ships only with its compiled ops, are pure vectorised PyTorch (``point_sample.py``).
"""
from torchvision.ops import box_iou, nms

from .cc_attention import CrissCrossAttention, criss_cross_attention
from .cpu_parallel import batched_nms, roi_align
from .point_sample import (calculate_uncertainty, get_uncertain_point_coords_on_grid,
                           get_uncertain_point_coords_with_randomness, point_sample)
from .psa_mask import PSAMask, psa_mask, psa_mask_matrix

__all__ = ['batched_nms', 'box_iou', 'nms', 'roi_align']
__all__ += ['point_sample', 'calculate_uncertainty', 'get_uncertain_point_coords_with_randomness',
            'get_uncertain_point_coords_on_grid']
__all__ += ['PSAMask', 'psa_mask', 'psa_mask_matrix', 'CrissCrossAttention',
            'criss_cross_attention']
