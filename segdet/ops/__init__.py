"""One door to compiled kernels: torchvision.ops (CPU and CUDA kernels in its wheel).

Everything in segdet that needs NMS, RoIAlign or a box IoU calls these names, so a different
backend (e.g. an installed ``mmcv.ops``) could be swapped in here alone. ``roi_align`` and
``batched_nms`` spread large CPU calls over the intra-op threads (torchvision's CPU kernels use
one); their results are torchvision's (``cpu_parallel.py``).
"""
from torchvision.ops import box_iou, nms

from .cpu_parallel import batched_nms, roi_align

__all__ = ['batched_nms', 'box_iou', 'nms', 'roi_align']
