"""PSPHead: pyramid pooling module (PSPNet, arXiv:1612.01105)."""
from typing import Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int_sequence

from .decode_head import BaseDecodeHead


class PPM(nn.ModuleList):
    """Pool the input to each scale, project it with a 1x1 ConvModule, upsample it back.

    Item ``i`` is ``Sequential(AdaptiveAvgPool2d(pool_scales[i]), ConvModule)``.

    Args:
        pool_scales: Output sizes of the adaptive average pools.
        in_channels: Input channels.
        channels: Channels of each branch.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config.
        align_corners: ``align_corners`` of the upsampling.
    """

    def __init__(self, pool_scales: Sequence[int], in_channels: int, channels: int,
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict], act_cfg: Optional[dict],
                 align_corners: bool) -> None:
        super().__init__()
        self.pool_scales = tuple(pool_scales)
        self.in_channels = in_channels
        self.channels = channels
        self.align_corners = align_corners
        for scale in pool_scales:
            self.append(nn.Sequential(
                nn.AdaptiveAvgPool2d(scale),
                ConvModule(in_channels, channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                           act_cfg=act_cfg)))

    def forward(self, x: Tensor) -> list[Tensor]:
        """Args: x (N, in_channels, H, W). Returns: one (N, channels, H, W) map per scale."""
        return [resize(branch(x), size=x.shape[2:], mode='bilinear',
                       align_corners=self.align_corners) for branch in self]


@MODELS.register_module()
class PSPHead(BaseDecodeHead):
    """PPM branches concatenated with the input, fused by a 3x3 ``bottleneck``.

    Args:
        pool_scales: Scales of the pyramid pooling module.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, pool_scales: Sequence[int] = (1, 2, 3, 6), **kwargs) -> None:
        super().__init__(**kwargs)
        self.pool_scales = check_int_sequence(pool_scales, 'PSPHead: pool_scales', 1)
        self.psp_modules = PPM(pool_scales, self.in_channels, self.channels,
                               conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                               act_cfg=self.act_cfg, align_corners=self.align_corners)
        self.bottleneck = ConvModule(
            self.in_channels + len(pool_scales) * self.channels, self.channels, 3, padding=1,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        return self.bottleneck(torch.cat([x, *self.psp_modules(x)], dim=1))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, h, w) logits."""
        return self.cls_seg(self._forward_feature(inputs))
