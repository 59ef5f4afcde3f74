"""Dilated depthwise convolutions as undilated ones on interleaved sub-images ("space to
batch", the way TensorFlow runs atrous convolutions).

A convolution with dilation ``d``, stride 1 and zero padding ``d * (k - 1) / 2`` combines only
pixels whose row (column) indices are equal modulo ``d``. Splitting the map into its
``d_h * d_w`` interleaved sub-images ``x[..., i::d_h, j::d_w]`` and convolving each with the
same weights at dilation 1 and padding ``(k - 1) / 2`` gives the same output, interleaved the
same way. Padding the map with zeros to a multiple of ``d`` first keeps the sub-images of equal
size (the added zeros lie inside the original convolution's zero padding, and the outputs there
are cut off).

Why: oneDNN's NHWC depthwise kernel leaves its fast path from a dilation of 7 on (3-20x slower
than at dilation 1; docs/benchmarks.md, "Mixed precision on an AVX512-BF16 CPU"), and NCHW
costs two reorders of the map. In NHWC the split and the merge are copies of whole pixel rows of
channels, so the dilation-1 kernel plus two copies is faster than either (DeepLabV3+'s ASPP).

- :func:`space_to_batch_conv2d`: the pure function;
- :class:`SpaceToBatchConv2d`: an ``nn.Conv2d`` (same parameters, same state dict) that runs it
  on channels_last CPU inputs; :func:`use_space_to_batch` turns a convolution into one.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from segdet.utils.autocast_state import autocast_state


def space_to_batch_conv2d(x: Tensor, weight: Tensor, bias: Optional[Tensor],
                          dilation: tuple[int, int], groups: int) -> Tensor:
    """``F.conv2d(x, weight, bias, 1, padding, dilation, groups)`` with 'same' padding
    ``dilation * (k - 1) // 2``, computed at dilation 1 on the interleaved sub-images.

    Args:
        x: (N, C, H, W) input, best channels_last (the copies then move whole rows of channels).
        weight: (C_out, C / groups, k_h, k_w), odd kernel sizes.
        bias: (C_out, ) or None.
        dilation: (d_h, d_w).
        groups: As for ``F.conv2d``.

    Returns:
        (N, C_out, H, W), channels_last.
    """
    n, c, height, width = x.shape
    k_h, k_w = weight.shape[-2:]
    if k_h % 2 == 0 or k_w % 2 == 0:
        raise ValueError(f'space_to_batch_conv2d needs odd kernel sizes, got {(k_h, k_w)}')
    d_h, d_w = dilation
    rows, cols = -(-height // d_h), -(-width // d_w)  # sub-image size
    pixels = x.permute(0, 2, 3, 1)  # (N, H, W, C): a view when x is channels_last
    if rows * d_h != height or cols * d_w != width:
        padded = x.new_zeros(n, rows * d_h, cols * d_w, c)
        padded[:, :height, :width] = pixels
        pixels = padded
    # (N, rows, d_h, cols, d_w, C) -> (N, d_h, d_w, rows, cols, C): sub-image (i, j) holds
    # the pixels (r * d_h + i, q * d_w + j).
    batch = pixels.reshape(n, rows, d_h, cols, d_w, c).permute(0, 2, 4, 1, 3, 5)
    batch = batch.reshape(n * d_h * d_w, rows, cols, c).permute(0, 3, 1, 2)
    out = F.conv2d(batch, weight, bias, 1, ((k_h - 1) // 2, (k_w - 1) // 2), 1, groups)
    c_out = out.shape[1]
    out = out.permute(0, 2, 3, 1).reshape(n, d_h, d_w, rows, cols, c_out)
    out = out.permute(0, 3, 1, 4, 2, 5).reshape(n, rows * d_h, cols * d_w, c_out)
    if rows * d_h != height or cols * d_w != width:
        out = out[:, :height, :width].contiguous()
    return out.permute(0, 3, 1, 2)


def runs_as_space_to_batch(conv: nn.Conv2d) -> bool:
    """Whether :func:`space_to_batch_conv2d` computes ``conv`` exactly: stride 1, zero 'same'
    padding ``dilation * (k - 1) / 2`` with odd kernels, a dilation above 1."""
    k_h, k_w = conv.kernel_size
    d_h, d_w = conv.dilation
    return (conv.stride == (1, 1) and conv.padding_mode == 'zeros'
            and k_h % 2 == 1 and k_w % 2 == 1 and max(d_h, d_w) > 1
            and conv.padding == (d_h * (k_h - 1) // 2, d_w * (k_w - 1) // 2))


#: Sub-images with fewer rows or columns than this make oneDNN's bf16 depthwise backward pass
#: slow (2x2 sub-images of 2048 channels: forward + backward about 2x the NCHW convolution with
#: its reorders); such bf16 calls run NCHW when they record gradients.
MIN_BF16_BACKWARD_SIDE = 3


class SpaceToBatchConv2d(nn.Conv2d):
    """An ``nn.Conv2d`` that runs channels_last CPU inputs through
    :func:`space_to_batch_conv2d`; other inputs (NCHW, CUDA) take ``nn.Conv2d``'s path.

    In a pass that records gradients in bf16 (autocast or bf16 inputs) with sub-images
    smaller than :data:`MIN_BF16_BACKWARD_SIDE` (e.g. dilation 36 on a 64x64 map), the
    convolution runs NCHW instead (input reordered, output back to channels_last).

    Made from an existing convolution by :func:`use_space_to_batch`; parameters, buffers and
    state-dict keys are the convolution's own.
    """

    def forward(self, input: Tensor) -> Tensor:
        if not (input.device.type == 'cpu' and input.dim() == 4
                and input.is_contiguous(memory_format=torch.channels_last)
                and not input.is_contiguous()):
            return super().forward(input)
        side = min(-(-input.shape[-2] // self.dilation[0]),
                   -(-input.shape[-1] // self.dilation[1]))
        bf16 = input.dtype == torch.bfloat16 or autocast_state('cpu') == (True, torch.bfloat16)
        if side < MIN_BF16_BACKWARD_SIDE and torch.is_grad_enabled() and bf16:
            # NCHW: the input and a weight with NCHW strides (a channels_last depthwise weight
            # also passes is_contiguous(), and its strides make oneDNN pick NHWC)
            weight = torch.empty(self.weight.shape, dtype=self.weight.dtype).copy_(self.weight)
            out = self._conv_forward(input.contiguous(), weight, self.bias)
            return out.contiguous(memory_format=torch.channels_last)
        return space_to_batch_conv2d(input, self.weight, self.bias, self.dilation, self.groups)


def use_space_to_batch(conv: nn.Conv2d) -> nn.Conv2d:
    """Turn ``conv`` (an ``nn.Conv2d``, not a subclass with its own forward) into a
    :class:`SpaceToBatchConv2d` in place and return it.

    Raises:
        TypeError: ``conv`` is neither an ``nn.Conv2d`` nor already converted.
        ValueError: its stride, padding or kernel is not one :func:`runs_as_space_to_batch`
            accepts.
    """
    if type(conv) is SpaceToBatchConv2d:
        return conv
    if type(conv) is not nn.Conv2d:
        raise TypeError(f'use_space_to_batch needs an nn.Conv2d, got {type(conv).__name__}')
    if not runs_as_space_to_batch(conv):
        raise ValueError(
            f'use_space_to_batch needs stride 1 and zero padding dilation * (k - 1) / 2 with '
            f'odd kernels and a dilation above 1; got kernel {conv.kernel_size}, stride '
            f'{conv.stride}, padding {conv.padding} ({conv.padding_mode}), dilation '
            f'{conv.dilation}')
    conv.__class__ = SpaceToBatchConv2d
    return conv
