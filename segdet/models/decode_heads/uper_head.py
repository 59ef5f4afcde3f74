"""UPerHead: Unified Perceptual Parsing (UPerNet, arXiv:1807.10221)."""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.models.utils.feature_checks import check_selected_channels
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int_sequence

from .decode_head import BaseDecodeHead
from .psp_head import PPM


def top_down_sum(laterals: Sequence[Tensor], align_corners: bool) -> list[Tensor]:
    """The FPN top-down pathway: from the coarsest level down, add the upsampled sum.

    ``out[L-1] = laterals[L-1]`` and ``out[i] = laterals[i] + up(out[i+1])``, where ``up`` is a
    bilinear resize to level ``i``'s size.

    Args:
        laterals: One (N, C, H_i, W_i) map per level, finest first.
        align_corners: ``align_corners`` of the bilinear resize.

    Returns:
        New maps of the same shapes (the inputs are not modified).
    """
    outs = list(laterals)
    for i in range(len(outs) - 1, 0, -1):
        outs[i - 1] = outs[i - 1] + resize(outs[i], size=outs[i - 1].shape[2:], mode='bilinear',
                                           align_corners=align_corners)
    return outs


@MODELS.register_module()
class UPerHead(BaseDecodeHead):
    """A PPM on the coarsest map, an FPN over all maps, and a fusion of every FPN level.

    1. ``psp_modules`` (:class:`PPM`) + ``bottleneck`` (3x3) turn the last map into the top
       lateral; ``lateral_convs[i]`` (1x1) project the other maps to ``channels``.
    2. :func:`top_down_sum` adds each coarser level, upsampled, to the finer one.
    3. ``fpn_convs[i]`` (3x3) smooth every level but the top; all levels are resized to the
       finest one, concatenated and fused by ``fpn_bottleneck`` (3x3) before ``cls_seg``.

    Inputs: the maps picked by ``in_index`` (always ``input_transform='multiple_select'``),
    each (N, in_channels[i], H_i, W_i), finest first. Output: (N, out_channels, H_0, W_0).

    Args:
        pool_scales: Output sizes of the PPM's adaptive average pools.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels`` and ``in_index`` lists).
    """

    def __init__(self, pool_scales: Sequence[int] = (1, 2, 3, 6), **kwargs) -> None:
        name = type(self).__name__
        transform = kwargs.pop('input_transform', 'multiple_select')
        if transform != 'multiple_select':
            raise ValueError(f"{name}: input_transform is always 'multiple_select', got "
                             f'{transform!r}')
        super().__init__(input_transform='multiple_select', **kwargs)
        self.pool_scales = check_int_sequence(pool_scales, f'{name}: pool_scales', 1)
        conv = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.psp_modules = PPM(pool_scales, self.in_channels[-1], self.channels,
                               align_corners=self.align_corners, **conv)
        self.bottleneck = ConvModule(
            self.in_channels[-1] + len(pool_scales) * self.channels, self.channels, 3,
            padding=1, **conv)
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for in_channels in self.in_channels[:-1]:  # the top level comes from the PPM
            self.lateral_convs.append(
                ConvModule(in_channels, self.channels, 1, inplace=False, **conv))
            self.fpn_convs.append(
                ConvModule(self.channels, self.channels, 3, padding=1, inplace=False, **conv))
        self.fpn_bottleneck = ConvModule(
            len(self.in_channels) * self.channels, self.channels, 3, padding=1, **conv)

    def psp_forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """The top lateral: (N, channels, H_L, W_L) from the last input map."""
        x = inputs[-1]
        return self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, H_0, W_0)."""
        feats = self._transform_inputs(inputs)
        check_selected_channels(type(self).__name__, feats, self.in_channels, self.in_index)
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, feats)]
        laterals.append(self.psp_forward(feats))
        laterals = top_down_sum(laterals, self.align_corners)
        outs = [conv(x) for conv, x in zip(self.fpn_convs, laterals)] + [laterals[-1]]
        size = outs[0].shape[2:]
        outs = [outs[0]] + [resize(x, size=size, mode='bilinear',
                                   align_corners=self.align_corners) for x in outs[1:]]
        return self.fpn_bottleneck(torch.cat(outs, dim=1))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, H_0, W_0) logits."""
        return self.cls_seg(self._forward_feature(inputs))
