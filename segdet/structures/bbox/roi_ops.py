"""RoI bookkeeping on (x1, y1, x2, y2) boxes: batched RoI tensors, rescaling, clipping."""
from typing import Sequence, Union

import torch
from torch import Tensor


def bbox2roi(bbox_list: Sequence[Tensor]) -> Tensor:
    """Stack per-image boxes into one RoI tensor.

    Args:
        bbox_list: One (n_i, >=4) tensor per image.

    Returns:
        (sum n_i, 5) float tensor ``[batch_index, x1, y1, x2, y2]``.
    """
    rois = []
    for img_id, bboxes in enumerate(bbox_list):
        index = bboxes.new_full((bboxes.size(0), 1), img_id)
        rois.append(torch.cat([index, bboxes[:, :4]], dim=-1))
    return torch.cat(rois, 0) if rois else torch.zeros((0, 5))


def roi_counts(rois: Tensor, num_images: int) -> list[int]:
    """Number of RoIs of each image in a ``bbox2roi`` tensor (its batch index column)."""
    return [int((rois[:, 0] == i).sum()) for i in range(num_images)]


def scale_boxes(boxes: Tensor, scale_factor: Union[Sequence[float], Tensor]) -> Tensor:
    """Multiply (N, 4) boxes by a (w_scale, h_scale) factor (x coordinates by w_scale)."""
    sw, sh = float(scale_factor[0]), float(scale_factor[1])
    return boxes * boxes.new_tensor([sw, sh, sw, sh])


def boxes_to_original(boxes: Tensor, meta: dict) -> Tensor:
    """(N, 4k) boxes in network-input pixels -> original-image pixels: divided by the image's
    ``scale_factor`` (w_scale, h_scale) from its metainfo (1, 1 when absent)."""
    sw, sh = meta.get('scale_factor', (1.0, 1.0))[:2]
    per_box = boxes.new_tensor([sw, sh, sw, sh])
    return boxes / per_box.repeat(boxes.size(-1) // 4)


def clip_boxes(boxes: Tensor, img_shape: Sequence[int]) -> Tensor:
    """Clip (N, 4k) boxes to an (H, W) image: x in [0, W], y in [0, H]."""
    h, w = int(img_shape[0]), int(img_shape[1])
    out = boxes.clone()
    out[..., 0::2] = out[..., 0::2].clamp(0, w)
    out[..., 1::2] = out[..., 1::2].clamp(0, h)
    return out


def box_sizes(boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Widths and heights (no "+1") of (N, 4) boxes."""
    return boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
