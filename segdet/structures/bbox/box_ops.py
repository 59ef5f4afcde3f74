"""Box arithmetic on (x1, y1, x2, y2) tensors, following mmdetection 3.x's conventions
(no "+1" in widths: a box from 0 to 4 is 4 wide)."""
import math
from typing import Optional, Sequence, Union

import torch
from torch import Tensor


def bbox_overlaps(boxes1: Tensor, boxes2: Tensor, mode: str = 'iou',
                  is_aligned: bool = False, eps: float = 1e-6) -> Tensor:
    """IoU, IoF or GIoU between boxes.

    Args:
        boxes1: (N, 4) boxes.
        boxes2: (M, 4) boxes, or (N, 4) when ``is_aligned``.
        mode: 'iou' (intersection over union), 'iof' (intersection over the area of
            ``boxes1``, the foreground) or 'giou' (IoU minus the share of the smallest
            enclosing box that the union does not cover, in [-1, 1]).
        is_aligned: Compare ``boxes1[i]`` with ``boxes2[i]`` only.
        eps: Lower bound of the denominators.

    Returns:
        (N, M) overlaps, or (N, ) when ``is_aligned``. Empty boxes give 0 IoU (not NaN), as in
        mmdetection (``torchvision.ops.box_iou`` would divide by a zero union).
    """
    if mode not in ('iou', 'iof', 'giou'):
        raise ValueError(f"bbox_overlaps: mode must be 'iou', 'iof' or 'giou', got {mode!r}")
    if is_aligned and boxes1.shape[0] != boxes2.shape[0]:
        raise ValueError(f'bbox_overlaps: is_aligned needs as many boxes on both sides, got '
                         f'{boxes1.shape[0]} and {boxes2.shape[0]}')
    area1 = _areas(boxes1)
    area2 = _areas(boxes2)
    if is_aligned:
        a, b, area_a, area_b = boxes1, boxes2, area1, area2
    else:
        a, b = boxes1[:, None, :], boxes2[None, :, :]
        area_a, area_b = area1[:, None], area2[None, :]
    lt = torch.max(a[..., :2], b[..., :2])
    rb = torch.min(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=-1)
    union = area_a + area_b - inter
    denom = area_a if mode == 'iof' else union
    overlaps = inter / denom.clamp(min=eps)
    if mode != 'giou':
        return overlaps
    enclose = (torch.max(a[..., 2:], b[..., 2:]) - torch.min(a[..., :2], b[..., :2]))
    enclose_area = enclose.clamp(min=0).prod(dim=-1).clamp(min=eps)
    return overlaps - (enclose_area - union) / enclose_area


def _areas(boxes: Tensor) -> Tensor:
    """(N,) areas of (N, 4) boxes (0 for boxes with x2 < x1 or y2 < y1)."""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def bbox_to_delta(proposals: Tensor, gt: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
                  stds: Sequence[float] = (1., 1., 1., 1.)) -> Tensor:
    """Regression targets (dx, dy, dw, dh) that turn ``proposals`` into ``gt``, normalised.

    dx = (gx - px) / pw, dy = (gy - py) / ph, dw = log(gw / pw), dh = log(gh / ph), with centres
    (x1 + x2) / 2 and sizes x2 - x1; then (delta - means) / stds.

    Args:
        proposals: (N, 4) boxes.
        gt: (N, 4) target boxes.

    Returns:
        (N, 4) deltas.
    """
    proposals, gt = proposals.float(), gt.float()
    pw, ph = proposals[:, 2] - proposals[:, 0], proposals[:, 3] - proposals[:, 1]
    px, py = proposals[:, 0] + 0.5 * pw, proposals[:, 1] + 0.5 * ph
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    gx, gy = gt[:, 0] + 0.5 * gw, gt[:, 1] + 0.5 * gh
    deltas = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw),
                          torch.log(gh / ph)], dim=-1)
    return (deltas - deltas.new_tensor(means)) / deltas.new_tensor(stds)


def delta_to_bbox(rois: Tensor, deltas: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
                  stds: Sequence[float] = (1., 1., 1., 1.),
                  max_shape: Optional[Union[Sequence[int], Tensor]] = None,
                  wh_ratio_clip: float = 16 / 1000, clip_border: bool = True,
                  add_ctr_clamp: bool = False, ctr_clamp: int = 32) -> Tensor:
    """Apply (dx, dy, dw, dh) deltas to boxes; the inverse of :func:`bbox_to_delta`.

    Args:
        rois: (N, 4) boxes.
        deltas: (N, 4 * k) deltas (k boxes per roi, e.g. one per class).
        means, stds: The normalisation used for the targets.
        max_shape: (H, W) to clip the boxes to, when ``clip_border``.
        wh_ratio_clip: |dw|, |dh| are clamped to |log(wh_ratio_clip)| (exp overflow guard).
        clip_border: Clip to ``max_shape``.
        add_ctr_clamp: Clamp the centre shift to +-``ctr_clamp`` pixels.

    Returns:
        (N, 4 * k) boxes.
    """
    n = deltas.shape[0]
    if n == 0:
        return deltas
    k = deltas.shape[1] // 4
    deltas = deltas.reshape(n, k, 4) * deltas.new_tensor(stds) + deltas.new_tensor(means)
    rois = rois.reshape(n, 1, 4).to(deltas.dtype)
    pw, ph = rois[..., 2] - rois[..., 0], rois[..., 3] - rois[..., 1]
    px, py = rois[..., 0] + 0.5 * pw, rois[..., 1] + 0.5 * ph
    dx, dy = deltas[..., 0] * pw, deltas[..., 1] * ph
    max_ratio = abs(math.log(wh_ratio_clip))
    if add_ctr_clamp:
        dx, dy = dx.clamp(-ctr_clamp, ctr_clamp), dy.clamp(-ctr_clamp, ctr_clamp)
        dw, dh = deltas[..., 2].clamp(max=max_ratio), deltas[..., 3].clamp(max=max_ratio)
    else:
        dw = deltas[..., 2].clamp(-max_ratio, max_ratio)
        dh = deltas[..., 3].clamp(-max_ratio, max_ratio)
    gw, gh = pw * dw.exp(), ph * dh.exp()
    gx, gy = px + dx, py + dy
    boxes = torch.stack([gx - 0.5 * gw, gy - 0.5 * gh, gx + 0.5 * gw, gy + 0.5 * gh], dim=-1)
    if clip_border and max_shape is not None:
        h, w = int(max_shape[0]), int(max_shape[1])
        boxes[..., 0::2] = boxes[..., 0::2].clamp(0, w)
        boxes[..., 1::2] = boxes[..., 1::2].clamp(0, h)
    return boxes.reshape(n, 4 * k)
