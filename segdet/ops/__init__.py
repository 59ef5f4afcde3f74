"""One door to compiled kernels: torchvision.ops (CPU and CUDA kernels in its wheel).

Everything in segdet that needs NMS, RoIAlign or a box IoU calls these names, so a different
backend (e.g. an installed ``mmcv.ops``) could be swapped in here alone.
"""
from torchvision.ops import batched_nms, box_iou, nms, roi_align

__all__ = ['batched_nms', 'box_iou', 'nms', 'roi_align']
