"""Thin wrappers around ``torch.nn.functional``."""
import warnings
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor


def resize(input: Tensor,
           size: Optional[Union[Sequence[int], torch.Size]] = None,
           scale_factor: Optional[float] = None,
           mode: str = 'nearest',
           align_corners: Optional[bool] = None,
           warning: bool = True) -> Tensor:
    """Resize a (N, C, H, W) tensor with ``F.interpolate``.

    Warns when ``align_corners=True`` is used with sizes that are not ``k*x+1`` of each
    other, because then corners do not line up (mmseg's convention: align_corners=True only
    for 8x+1 sizes such as 769).

    Args:
        input: (N, C, H, W) tensor.
        size: Output (h, w).
        scale_factor: Multiplier for spatial size, used when ``size`` is None.
        mode: Interpolation mode.
        align_corners: Passed to ``F.interpolate`` for linear modes.
        warning: Whether to warn about misaligned corners.

    Returns:
        Tensor of shape (N, C, h, w).
    """
    if warning and size is not None and align_corners:
        in_h, in_w = tuple(int(x) for x in input.shape[2:])
        out_h, out_w = tuple(int(x) for x in size)
        if out_h > in_h or out_w > in_w:
            if ((out_h > 1 and out_w > 1 and in_h > 1 and in_w > 1)
                    and (out_h - 1) % (in_h - 1) and (out_w - 1) % (in_w - 1)):
                warnings.warn(
                    f'When align_corners={align_corners}, the output size ({out_h}, {out_w}) '
                    f'should be x*(input_size - 1) + 1 of the input ({in_h}, {in_w}).')
    if size is not None:
        size = tuple(int(x) for x in size)
    return F.interpolate(input, size, scale_factor, mode, align_corners)
