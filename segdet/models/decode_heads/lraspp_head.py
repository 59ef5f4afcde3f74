"""LRASPPHead: Lite Reduced Atrous Spatial Pyramid Pooling (MobileNetV3, arXiv:1905.02244).

The deepest map is projected to ``channels`` and gated per channel and position by a sigmoid
of its own large-window average (the "image pooling" branch); the result is upsampled
step by step to the shallower maps, each time concatenated with a narrow 1x1 projection of
that map (``convs``) and fused by a 1x1 ``ConvModule`` (``conv_ups``).
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.models.utils.feature_checks import check_selected_channels
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int_sequence

from .decode_head import BaseDecodeHead

# mmseg's image-pooling window and stride (a 49x49 window over a 512x1024 crop's 64x128
# stride-8 map gives a 1x4 grid of gates).
POOL_KERNEL = (49, 49)
POOL_STRIDE = (16, 20)


def clamped_avg_pool(x: Tensor, kernel_size: Tuple[int, int],
                     stride: Tuple[int, int]) -> Tensor:
    """Average pooling (no padding) whose window is clamped to the map's size.

    Equal to ``F.avg_pool2d(x, kernel_size, stride)`` on maps at least as large as the window;
    a side shorter than the window is averaged whole (one output), where the plain pooling
    fails.

    Args:
        x: (N, C, H, W) features.
        kernel_size: (kh, kw) window.
        stride: (sh, sw) stride.

    Returns:
        (N, C, (H - kh') // sh + 1, (W - kw') // sw + 1) with ``kh' = min(kh, H)`` and
        ``kw' = min(kw, W)``.
    """
    h, w = x.shape[2:]
    return F.avg_pool2d(x, (min(kernel_size[0], h), min(kernel_size[1], w)), stride)


class ClampedAvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d`` with the window clamped to the input (:func:`clamped_avg_pool`)."""

    def __init__(self, kernel_size: Tuple[int, int], stride: Tuple[int, int]) -> None:
        super().__init__(kernel_size, stride)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, C, H, W). Returns the pooled (N, C, h, w) map."""
        return clamped_avg_pool(x, self.kernel_size, self.stride)


@MODELS.register_module()
class LRASPPHead(BaseDecodeHead):
    """Lite R-ASPP on ``len(in_channels)`` maps, deepest last (``multiple_select``).

    ``aspp_conv`` (1x1, norm, act) of the deepest map times ``image_pool`` (clamped 49x49
    average pool, stride (16, 20), then 1x1 conv and sigmoid, upsampled back), then
    ``conv_up_input`` (1x1 conv with bias); for i = k-2 .. 0: upsample to map i, concatenate
    ``convs[i]`` (1x1, ``branch_channels[i]`` outputs, no bias) of map i, fuse with
    ``conv_ups[i]`` (1x1 ``ConvModule``) to ``channels``. Logits (N, out_channels, H_0, W_0)
    at the size of the first (shallowest) map.

    Args:
        branch_channels: Channels of the skip projection of each map but the deepest
            (``len(in_channels) - 1`` entries).
        **kwargs: :class:`BaseDecodeHead` arguments; ``input_transform`` must be
            ``'multiple_select'``.
    """

    def __init__(self, branch_channels: Sequence[int] = (32, 64), **kwargs) -> None:
        super().__init__(**kwargs)
        if self.input_transform != 'multiple_select':
            raise ValueError("LRASPPHead: input_transform must be 'multiple_select', got "
                             f'{self.input_transform!r}')
        branch_channels = check_int_sequence(branch_channels, 'LRASPPHead: branch_channels', 1)
        if len(branch_channels) != len(self.in_channels) - 1:
            raise ValueError(
                f'LRASPPHead: branch_channels={branch_channels} needs one entry per input map '
                f'but the deepest, i.e. {len(self.in_channels) - 1} for '
                f'in_channels={self.in_channels}')
        self.branch_channels = branch_channels
        common = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, bias=False)

        self.convs = nn.Sequential()
        self.conv_ups = nn.Sequential()
        for i, branch in enumerate(branch_channels):
            self.convs.add_module(f'conv{i}',
                                  nn.Conv2d(self.in_channels[i], branch, 1, bias=False))
            self.conv_ups.add_module(
                f'conv_up{i}', ConvModule(self.channels + branch, self.channels, 1, **common))
        self.conv_up_input = nn.Conv2d(self.channels, self.channels, 1)
        self.aspp_conv = ConvModule(self.in_channels[-1], self.channels, 1, **common)
        self.image_pool = nn.Sequential(
            ClampedAvgPool2d(POOL_KERNEL, POOL_STRIDE),
            ConvModule(self.in_channels[-1], self.channels, 1, act_cfg=dict(type='Sigmoid'),
                       bias=False))

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, H_0, W_0)."""
        feats = self._transform_inputs(inputs)
        check_selected_channels('LRASPPHead', feats, self.in_channels, self.in_index)
        x = feats[-1]
        gate = resize(self.image_pool(x), size=x.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)
        x = self.conv_up_input(self.aspp_conv(x) * gate)
        for i in range(len(self.branch_channels) - 1, -1, -1):
            x = resize(x, size=feats[i].shape[2:], mode='bilinear',
                       align_corners=self.align_corners)
            x = self.conv_ups[i](torch.cat([x, self.convs[i](feats[i])], dim=1))
        return x

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, H_0, W_0) logits."""
        return self.cls_seg(self._forward_feature(inputs))
