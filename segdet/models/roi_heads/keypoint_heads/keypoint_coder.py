"""Keypoint <-> heatmap coding of Keypoint R-CNN (Detectron / maskrcnn-benchmark convention).

A heatmap of size M covers its RoI; keypoint (x, y) falls in cell
``floor((x - x1) * M / (x2 - x1))`` (the same for y), and a cell's centre decodes back to
``x1 + (i + 0.5) * w / ceil(w)`` after the heatmap has been resized to the box's ceiled size
(Heckbert's "continuous = discrete + 0.5").
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def keypoints_to_heatmap_targets(keypoints: Tensor, rois: Tensor, size: int
                                 ) -> tuple[Tensor, Tensor]:
    """Discretise each keypoint of each RoI's ground truth into the RoI's heatmap grid.

    Args:
        keypoints: (N, K, 3) x, y, visibility (0 unlabelled, 1 occluded, 2 visible) in the
            same pixels as ``rois``; row n belongs to RoI n.
        rois: (N, 4) boxes x1, y1, x2, y2.
        size: M, the heatmap side.

    Returns:
        ``targets`` (N, K) int64, the flat index ``y * M + x`` of each keypoint's cell (0 where
        not valid), and ``valid`` (N, K) bool: labelled (v > 0) and inside the RoI. A
        keypoint exactly on the RoI's right (bottom) edge goes to the last column (row).
    """
    x1, y1, x2, y2 = (rois[:, i, None] for i in range(4))
    x, y = keypoints[..., 0], keypoints[..., 1]
    col = ((x - x1) * (size / (x2 - x1))).floor().long()
    row = ((y - y1) * (size / (y2 - y1))).floor().long()
    col = torch.where(x == x2, torch.full_like(col, size - 1), col)
    row = torch.where(y == y2, torch.full_like(row, size - 1), row)
    inside = (col >= 0) & (row >= 0) & (col < size) & (row < size)
    valid = inside & (keypoints[..., 2] > 0)
    targets = torch.where(valid, row * size + col, torch.zeros_like(col))
    return targets, valid


def keypoint_heatmap_loss(heatmaps: Tensor, targets: Tensor, valid: Tensor) -> Tensor:
    """Cross-entropy over the M x M positions of each valid keypoint, averaged over the valid
    keypoints of the batch (maskrcnn-benchmark's ``keypoint_rcnn_loss``); 0 (with a gradient
    path) when none is valid.

    Args:
        heatmaps: (N, K, M, M) logits.
        targets, valid: (N, K) from :func:`keypoints_to_heatmap_targets`.
    """
    n, k, h, w = heatmaps.shape
    if h != w:
        raise ValueError(f'keypoint heatmaps must be square, got {h}x{w}')
    if not bool(valid.any()):
        return heatmaps.sum() * 0
    logits = heatmaps.reshape(n * k, h * w)[valid.reshape(-1)]
    return F.cross_entropy(logits.float(), targets.reshape(-1)[valid.reshape(-1)])


def heatmaps_to_keypoints(heatmaps: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
    """Decode per-RoI heatmaps into keypoints in the boxes' pixels.

    Each RoI's heatmaps are resized (bicubic) to the box's ceiled width and height; each
    keypoint is the argmax cell's centre, scaled back to the box's exact size, and its score
    the resized heatmap's value there (a logit, not a probability).

    Args:
        heatmaps: (N, K, M, M) logits.
        boxes: (N, 4) x1, y1, x2, y2; widths and heights below 1 count as 1.

    Returns:
        ``keypoints`` (N, K, 2) x, y and ``scores`` (N, K), float32.
    """
    n, k = heatmaps.shape[:2]
    keypoints = heatmaps.new_zeros((n, k, 2), dtype=torch.float32)
    scores = heatmaps.new_zeros((n, k), dtype=torch.float32)
    widths = (boxes[:, 2] - boxes[:, 0]).clamp(min=1)
    heights = (boxes[:, 3] - boxes[:, 1]).clamp(min=1)
    # One resize per RoI: each box has its own output size.
    for i in range(n):
        out_w, out_h = int(widths[i].ceil()), int(heights[i].ceil())
        resized = F.interpolate(heatmaps[i][:, None].float(), size=(out_h, out_w),
                                mode='bicubic', align_corners=False)[:, 0]
        flat = resized.reshape(k, -1).argmax(dim=1)
        col, row = flat % out_w, torch.div(flat, out_w, rounding_mode='floor')
        keypoints[i, :, 0] = (col.float() + 0.5) * (widths[i] / out_w) + boxes[i, 0]
        keypoints[i, :, 1] = (row.float() + 0.5) * (heights[i] / out_h) + boxes[i, 1]
        scores[i] = resized[torch.arange(k, device=resized.device), row, col]
    return keypoints, scores
