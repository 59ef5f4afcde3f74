"""DepthwiseSeparableASPPHead: DeepLabV3+ decoder (arXiv:1802.02611)."""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.registry import MODELS

from .aspp_head import ASPPHead, ASPPModule


class DepthwiseSeparableASPPModule(ASPPModule):
    """ASPPModule whose atrous (dilation > 1) branches are depthwise-separable convs."""

    def _branch(self, dilation: int) -> nn.Module:
        if dilation == 1:
            return super()._branch(dilation)
        return DepthwiseSeparableConvModule(
            self.in_channels, self.channels, 3, dilation=dilation, padding=dilation,
            norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)


@MODELS.register_module()
class DepthwiseSeparableASPPHead(ASPPHead):
    """Separable ASPP on ``inputs[in_index]`` + a low-level branch on ``inputs[0]``.

    The ASPP output is upsampled to the low-level map, concatenated with its 1x1 projection
    (``c1_bottleneck``) and refined by two separable 3x3 convs (``sep_bottleneck``).

    Args:
        c1_in_channels: Channels of ``inputs[0]``; 0 disables the low-level branch.
        c1_channels: Channels of the projected low-level map.
        **kwargs: :class:`ASPPHead` arguments.
    """

    def __init__(self, c1_in_channels: int, c1_channels: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if c1_in_channels < 0 or c1_channels < 0:
            raise ValueError('DepthwiseSeparableASPPHead: c1_in_channels and c1_channels must '
                             f'be >= 0, got {c1_in_channels} and {c1_channels}')
        self.c1_in_channels = c1_in_channels
        self.c1_channels = c1_channels
        if c1_in_channels > 0:
            self.c1_bottleneck = ConvModule(c1_in_channels, c1_channels, 1,
                                            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                            act_cfg=self.act_cfg)
            sep_in_channels = self.channels + c1_channels
        else:
            self.c1_bottleneck = None
            sep_in_channels = self.channels
        self.sep_bottleneck = nn.Sequential(
            DepthwiseSeparableConvModule(sep_in_channels, self.channels, 3, padding=1,
                                         norm_cfg=self.norm_cfg, act_cfg=self.act_cfg),
            DepthwiseSeparableConvModule(self.channels, self.channels, 3, padding=1,
                                         norm_cfg=self.norm_cfg, act_cfg=self.act_cfg))

    def _build_aspp_modules(self) -> nn.ModuleList:
        return DepthwiseSeparableASPPModule(
            self.dilations, self.in_channels, self.channels, conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h1, w1) at ``inputs[0]``'s size (or the
        ASPP input's size without the low-level branch)."""
        out = self._aspp_feature(self._transform_inputs(inputs))
        if self.c1_bottleneck is not None:
            c1 = self.c1_bottleneck(inputs[0])
            out = resize(out, size=c1.shape[2:], mode='bilinear',
                         align_corners=self.align_corners)
            out = torch.cat([out, c1], dim=1)
        return self.sep_bottleneck(out)
