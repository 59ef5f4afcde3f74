"""Thin wrappers around ``torch.nn.functional``."""
import warnings
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn


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


class Upsample(nn.Module):
    """A module form of :func:`resize` (mmseg's ``Upsample``; no parameters).

    The output size is ``size`` when given, else each input side times ``scale_factor``,
    rounded down (``int(side * factor)``).

    Args:
        size: Fixed output (h, w), or None to use ``scale_factor``.
        scale_factor: One factor, or an (h, w) pair; used when ``size`` is None.
        mode: Interpolation mode.
        align_corners: ``align_corners`` of linear modes.
    """

    def __init__(self,
                 size: Optional[Sequence[int]] = None,
                 scale_factor: Optional[Union[float, Sequence[float]]] = None,
                 mode: str = 'nearest',
                 align_corners: Optional[bool] = None) -> None:
        super().__init__()
        if not size and not scale_factor:
            raise ValueError(f'Upsample: one of size or scale_factor must be set, got '
                             f'size={size!r}, scale_factor={scale_factor!r}')
        self.size = size
        if isinstance(scale_factor, (list, tuple)):
            self.scale_factor: Optional[Union[float, tuple[float, ...]]] = tuple(
                float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, C, H, W). Returns: (N, C, h, w) with the size described above."""
        if self.size:
            size = self.size
        else:
            factors = (self.scale_factor if isinstance(self.scale_factor, tuple)
                       else (self.scale_factor, ) * 2)
            size = [int(side * f) for side, f in zip(x.shape[-2:], factors)]
        return resize(x, size, None, self.mode, self.align_corners)

    def extra_repr(self) -> str:
        return (f'size={self.size}, scale_factor={self.scale_factor}, mode={self.mode}, '
                f'align_corners={self.align_corners}')
