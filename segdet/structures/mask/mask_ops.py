"""Instance-mask math as pure functions: RoI mask targets and pasting RoI masks into images."""
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from segdet.ops import roi_align


def crop_and_resize_masks(masks: Tensor, boxes: Tensor, gt_inds: Tensor, size: int,
                          binarize: bool = True) -> Tensor:
    """Mask targets: each box's region of its ground-truth mask, resampled to ``size``.

    The crop is an aligned RoIAlign (half-pixel centres, adaptive sampling) of the 0/1 mask, as
    mmdetection's ``BitmapMasks.crop_and_resize``; ``binarize`` thresholds at 0.5.

    Args:
        masks: (G, H, W) 0/1 ground-truth masks (any dtype).
        boxes: (P, 4) boxes (x1, y1, x2, y2) in mask pixels.
        gt_inds: (P,) index of each box's ground-truth mask.
        size: Output side length.
        binarize: Threshold the result at 0.5.

    Returns:
        (P, size, size) float targets (0/1 if ``binarize``).
    """
    if boxes.shape[0] == 0:
        return boxes.new_zeros((0, size, size))
    if masks.shape[0] == 0:
        raise ValueError('crop_and_resize_masks: boxes given but there are no masks')
    rois = torch.cat([gt_inds.to(boxes.dtype)[:, None], boxes[:, :4]], dim=1)
    crops = roi_align(masks[:, None].to(boxes.dtype), rois, (size, size), 1.0, 0,
                      True).squeeze(1)
    return (crops >= 0.5).to(boxes.dtype) if binarize else crops


def paste_mask(mask: Tensor, box: Tensor, img_h: int, img_w: int) -> tuple[Tensor, tuple]:
    """Resample one RoI mask onto the image pixels near its box.

    Image pixel centres ``(x + 0.5, y + 0.5)`` are mapped into the box and the (h, w) mask is
    sampled bilinearly there (zero outside it). As in mmdetection's CPU path, only the pixels
    of the box widened by one pixel on each side (clipped to the image) are computed.

    Args:
        mask: (h, w) float mask (probabilities or logits' sigmoid).
        box: (4,) box (x1, y1, x2, y2) in image pixels.
        img_h, img_w: Image size.

    Returns:
        The pasted values ((y1 - y0), (x1 - x0)) float and the region (y0, y1, x0, x1).
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = max(x2 - x1, 1e-6), max(y2 - y1, 1e-6)
    x0i = max(int(math.floor(x1)) - 1, 0)
    x1i = min(int(math.ceil(x2)) + 1, img_w)
    y0i = max(int(math.floor(y1)) - 1, 0)
    y1i = min(int(math.ceil(y2)) + 1, img_h)
    if x1i <= x0i or y1i <= y0i:
        return mask.new_zeros((0, 0)), (0, 0, 0, 0)
    xs = (torch.arange(x0i, x1i, device=mask.device, dtype=torch.float32) + 0.5 - x1) / bw * 2 - 1
    ys = (torch.arange(y0i, y1i, device=mask.device, dtype=torch.float32) + 0.5 - y1) / bh * 2 - 1
    grid = torch.stack([xs[None, :].expand(ys.numel(), -1), ys[:, None].expand(-1, xs.numel())],
                       dim=-1)
    pasted = F.grid_sample(mask[None, None].float(), grid[None], align_corners=False)
    return pasted[0, 0], (y0i, y1i, x0i, x1i)


def paste_masks_in_image(masks: Tensor, boxes: Tensor, img_h: int, img_w: int,
                         threshold: float = 0.5) -> Tensor:
    """Paste (N, h, w) RoI masks into (N, img_h, img_w) image masks.

    Args:
        masks: (N, h, w) float mask probabilities.
        boxes: (N, 4) boxes in image pixels.
        img_h, img_w: Image size.
        threshold: Binarise at ``>= threshold``; a negative value keeps the float values.

    Returns:
        (N, img_h, img_w) bool masks (float when ``threshold < 0``).
    """
    binary = threshold >= 0
    out = masks.new_zeros((masks.shape[0], img_h, img_w),
                          dtype=torch.bool if binary else torch.float32)
    for i in range(masks.shape[0]):
        values, (y0, y1, x0, x1) = paste_mask(masks[i], boxes[i], img_h, img_w)
        if values.numel():
            out[i, y0:y1, x0:x1] = values >= threshold if binary else values
    return out


def paste_masks_detectron(masks: Tensor, boxes: Tensor, img_h: int, img_w: int,
                          threshold: float = 0.5) -> Tensor:
    """Paste (N, h, w) RoI masks the way Detectron, maskrcnn-benchmark and torchvision do.

    Each mask gets a one-pixel border of zeros ((h + 2, w + 2)) and its box is widened by the
    same factor about its centre; the box is cut to whole pixels (truncated towards zero) and
    covers ``x2 - x1 + 1`` by ``y2 - y1 + 1`` pixels (the "+1" convention of those libraries);
    the padded mask is resized bilinearly (half-pixel centres) to that size, put at (x1, y1)
    and thresholded. :func:`paste_masks_in_image` (mmdetection's way) instead samples the mask
    at every image pixel centre inside the real-valued box; the two differ at the borders of
    the masks, by up to about a pixel.

    Args:
        masks: (N, h, w) float mask probabilities.
        boxes: (N, 4) boxes in image pixels.
        img_h, img_w: Image size.
        threshold: Binarise at ``> threshold`` (as those libraries do); a negative value keeps
            the float values.

    Returns:
        (N, img_h, img_w) bool masks (float when ``threshold < 0``).
    """
    binary = threshold >= 0
    out = masks.new_zeros((masks.shape[0], img_h, img_w),
                          dtype=torch.bool if binary else torch.float32)
    if masks.shape[0] == 0:
        return out
    mask_h, mask_w = masks.shape[-2:]
    padded = F.pad(masks.float(), (1, 1, 1, 1))
    boxes = boxes.float()
    centre = (boxes[:, :2] + boxes[:, 2:]) * 0.5
    half = (boxes[:, 2:] - boxes[:, :2]) * 0.5
    half = half * half.new_tensor([(mask_w + 2) / mask_w, (mask_h + 2) / mask_h])
    int_boxes = torch.cat([centre - half, centre + half], dim=1).to(torch.int64).tolist()
    for i, (x1, y1, x2, y2) in enumerate(int_boxes):
        w, h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)
        resized = F.interpolate(padded[i][None, None], size=(h, w), mode='bilinear',
                                align_corners=False)[0, 0]
        x0, x1c = max(x1, 0), min(x2 + 1, img_w)
        y0, y1c = max(y1, 0), min(y2 + 1, img_h)
        if x1c <= x0 or y1c <= y0:
            continue
        values = resized[y0 - y1:y1c - y1, x0 - x1:x1c - x1]
        out[i, y0:y1c, x0:x1c] = values > threshold if binary else values
    return out
