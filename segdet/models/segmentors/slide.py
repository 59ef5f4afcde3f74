"""Sliding-window inference as pure functions (mmseg's ``mode='slide'``)."""
from typing import Callable, Sequence

import torch
from torch import Tensor


def slide_windows(h: int, w: int, crop_size: Sequence[int],
                  stride: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """Windows (y1, y2, x1, x2) that tile an (h, w) image with crops of ``crop_size``.

    Windows start every ``stride`` pixels; the last row/column is shifted back so that it ends
    on the image border. Every window has size (min(h, crop_h), min(w, crop_w)), so the crops
    of one image can be stacked into one batch.

    Args:
        h, w: Image size.
        crop_size: (crop_h, crop_w).
        stride: (stride_h, stride_w).

    Returns:
        List of (y1, y2, x1, x2), row-major.
    """
    crop_h, crop_w = int(crop_size[0]), int(crop_size[1])
    stride_h, stride_w = int(stride[0]), int(stride[1])
    if min(crop_h, crop_w, stride_h, stride_w) <= 0:
        raise ValueError(f'slide inference needs positive crop_size and stride, got '
                         f'crop_size={tuple(crop_size)}, stride={tuple(stride)}')
    h_grids = max(h - crop_h + stride_h - 1, 0) // stride_h + 1
    w_grids = max(w - crop_w + stride_w - 1, 0) // stride_w + 1
    windows = []
    for hi in range(h_grids):
        for wi in range(w_grids):
            y2 = min(hi * stride_h + crop_h, h)
            x2 = min(wi * stride_w + crop_w, w)
            windows.append((max(y2 - crop_h, 0), y2, max(x2 - crop_w, 0), x2))
    return windows


def slide_inference(inputs: Tensor,
                    crop_size: Sequence[int],
                    stride: Sequence[int],
                    out_channels: int,
                    crop_logits_fn: Callable[[Tensor], Tensor],
                    batch_size: int = 1) -> Tensor:
    """Run ``crop_logits_fn`` on overlapping crops and average the overlaps.

    Crops are run in mini-batches of ``batch_size`` windows (each window taken from every
    image of the batch), then each window's logits are added into a (N, C, H, W) sum and a
    count map; the result is sum / count. With the same crops this equals running one crop at
    a time.

    Args:
        inputs: (N, 3, H, W) images.
        crop_size: (crop_h, crop_w).
        stride: (stride_h, stride_w).
        out_channels: C, channels of the logits.
        crop_logits_fn: Maps (B, 3, h, w) crops to (B, C, h, w) logits at crop size.
        batch_size: Windows per forward pass.

    Returns:
        (N, C, H, W) averaged logits.
    """
    if batch_size < 1:
        raise ValueError(f'slide inference batch_size must be >= 1, got {batch_size}')
    n, _, h, w = inputs.shape
    windows = slide_windows(h, w, crop_size, stride)
    logits_sum = inputs.new_zeros((n, out_channels, h, w))
    count = inputs.new_zeros((1, 1, h, w))
    for start in range(0, len(windows), batch_size):
        chunk = windows[start:start + batch_size]
        crops = torch.cat([inputs[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in chunk], dim=0)
        crop_logits = crop_logits_fn(crops).to(logits_sum.dtype)
        for k, (y1, y2, x1, x2) in enumerate(chunk):
            logits_sum[:, :, y1:y2, x1:x2] += crop_logits[k * n:(k + 1) * n]
            count[:, :, y1:y2, x1:x2] += 1
    if (count == 0).any():
        raise RuntimeError('slide inference left pixels uncovered; check crop_size and stride')
    return logits_sum / count
