"""ASPPHead: atrous spatial pyramid pooling (DeepLabV3, arXiv:1706.05587)."""
from typing import Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int_sequence

from .decode_head import BaseDecodeHead


class ASPPModule(nn.ModuleList):
    """Parallel convolutions at several dilations: 1x1 for dilation 1, else 3x3 atrous.

    Args:
        dilations: Dilation of each branch.
        in_channels: Input channels.
        channels: Output channels of each branch.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config.
    """

    def __init__(self, dilations: Sequence[int], in_channels: int, channels: int,
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict],
                 act_cfg: Optional[dict]) -> None:
        super().__init__()
        self.dilations = tuple(dilations)
        self.in_channels = in_channels
        self.channels = channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        for dilation in dilations:
            self.append(self._branch(dilation))

    def _branch(self, dilation: int) -> nn.Module:
        if dilation == 1:
            return ConvModule(self.in_channels, self.channels, 1, conv_cfg=self.conv_cfg,
                              norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        return ConvModule(self.in_channels, self.channels, 3, dilation=dilation,
                          padding=dilation, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                          act_cfg=self.act_cfg)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Args: x (N, in_channels, H, W). Returns: one (N, channels, H, W) map per branch."""
        return [branch(x) for branch in self]


@MODELS.register_module()
class ASPPHead(BaseDecodeHead):
    """Image pooling + ASPP branches, concatenated and fused by a 3x3 ``bottleneck``.

    Args:
        dilations: Dilations of the ASPP branches.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, dilations: Sequence[int] = (1, 6, 12, 18), **kwargs) -> None:
        super().__init__(**kwargs)
        self.dilations = check_int_sequence(dilations, f'{type(self).__name__}: dilations', 1)
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvModule(self.in_channels, self.channels, 1, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg))
        self.aspp_modules = self._build_aspp_modules()
        self.bottleneck = ConvModule(
            (len(dilations) + 1) * self.channels, self.channels, 3, padding=1,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _build_aspp_modules(self) -> nn.ModuleList:
        """The ASPP branches; subclasses swap in other branch types."""
        return ASPPModule(self.dilations, self.in_channels, self.channels,
                          conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _aspp_feature(self, x: Tensor) -> Tensor:
        """(N, in_channels, h, w) -> fused (N, channels, h, w) ASPP feature."""
        pooled = resize(self.image_pool(x), size=x.shape[2:], mode='bilinear',
                        align_corners=self.align_corners)
        return self.bottleneck(torch.cat([pooled, *self.aspp_modules(x)], dim=1))

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        return self._aspp_feature(self._transform_inputs(inputs))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, h, w) logits."""
        return self.cls_seg(self._forward_feature(inputs))
