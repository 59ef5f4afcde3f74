"""The three parts of Fast-SCNN (Poudel et al., arXiv:1902.04502): learning to downsample,
global feature extractor and feature fusion.

Module and parameter names follow mmsegmentation 1.x's ``fast_scnn.py`` (``conv``,
``dsconv1``, ``bottleneck1`` .., ``ppm``, ``out``, ``dwconv``, ``conv_lower_res``,
``conv_higher_res``), so its checkpoints load unchanged.
"""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import Tensor

from segdet.models.decode_heads.psp_head import PPM
from segdet.models.utils import InvertedResidual, resize


class LearningToDownsample(nn.Module):
    """Three layers to stride 8 by default: a 3x3 ConvModule (``conv``), then two 3x3
    depthwise-separable convs (``dsconv1``, ``dsconv2``), each of stride 2 unless ``strides``
    says otherwise.

    Input (N, in_channels, H, W) float; output (N, out_channels, H / s, W / s) with
    ``s = prod(strides)`` (8 by default; sizes rounded up at each stride-2 layer).

    Args:
        in_channels: Input (image) channels.
        dw_channels: Output channels of ``conv`` and of ``dsconv1``.
        out_channels: Output channels of ``dsconv2``.
        conv_cfg: Conv config of every conv.
        norm_cfg: Norm config.
        act_cfg: Activation after ``conv`` and after each pointwise conv.
        dw_act_cfg: Activation after the depthwise convs; None for none, ``'default'`` for
            ``act_cfg`` (mmcv's ``DepthwiseSeparableConvModule`` semantics).
        strides: Strides of ``conv``, ``dsconv1`` and ``dsconv2`` (1 or 2 each). mmseg's
            module has (2, 2, 2); a stride of 1 keeps the same parameters (names and shapes)
            and gives a finer map, e.g. (2, 2, 1) for stride 4 on small images.
    """

    def __init__(self,
                 in_channels: int,
                 dw_channels: Sequence[int],
                 out_channels: int,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 dw_act_cfg: Optional[dict] = None,
                 strides: Sequence[int] = (2, 2, 2)) -> None:
        super().__init__()
        if len(strides) != 3 or any(s not in (1, 2) for s in strides):
            raise ValueError(f'LearningToDownsample: strides={tuple(strides)} must be 3 '
                             'entries, each 1 or 2')
        first, second = dw_channels
        self.conv = ConvModule(in_channels, first, 3, stride=strides[0], padding=1,
                               conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        separable = dict(kernel_size=3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                         act_cfg=act_cfg, dw_act_cfg=dw_act_cfg)
        self.dsconv1 = DepthwiseSeparableConvModule(first, second, stride=strides[1],
                                                    **separable)
        self.dsconv2 = DepthwiseSeparableConvModule(second, out_channels, stride=strides[2],
                                                    **separable)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, in_channels, H, W). Returns (N, out_channels, H / s, W / s)."""
        return self.dsconv2(self.dsconv1(self.conv(x)))


class GlobalFeatureExtractor(nn.Module):
    """Three groups of inverted residual blocks (``bottleneck1`` .. ``bottleneck3``), a
    pyramid pooling module over the last (``ppm``, branches of ``block_channels[2] // 4``
    channels) and a 3x3 ConvModule (``out``) over [last group, pooled branches].

    Input (N, in_channels, H, W) float; output (N, out_channels, H / s, W / s) with
    ``s = prod(strides)`` (sizes rounded up at each stride-2 block).

    Args:
        in_channels: Input channels.
        block_channels: Output channels of the three groups.
        out_channels: Output channels of ``out``.
        expand_ratio: Hidden-width ratio of every inverted residual block.
        num_blocks: Blocks per group; the first block of a group carries its stride.
        strides: Stride of each group (1 or 2).
        pool_scales: Output sizes of the PPM's adaptive average pools.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config (also inside the inverted residuals).
        align_corners: ``align_corners`` of the PPM's upsampling.
    """

    def __init__(self,
                 in_channels: int = 64,
                 block_channels: Sequence[int] = (64, 96, 128),
                 out_channels: int = 128,
                 expand_ratio: int = 6,
                 num_blocks: Sequence[int] = (3, 3, 3),
                 strides: Sequence[int] = (2, 2, 1),
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 align_corners: bool = False) -> None:
        super().__init__()
        if not len(block_channels) == len(num_blocks) == len(strides) == 3:
            raise ValueError(
                f'GlobalFeatureExtractor: block_channels={tuple(block_channels)}, num_blocks='
                f'{tuple(num_blocks)} and strides={tuple(strides)} need 3 entries each')
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        widths = [in_channels, *block_channels]
        for i in range(3):
            self.add_module(f'bottleneck{i + 1}', self._make_layer(
                widths[i], widths[i + 1], num_blocks[i], strides[i], expand_ratio))
        self.ppm = PPM(pool_scales, block_channels[2], block_channels[2] // 4,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                       align_corners=align_corners)
        # Each PPM branch has a quarter of the width, so [x, branches] is twice as wide as x
        # with the default four scales (mmseg's formula, which assumes them).
        self.out = ConvModule(block_channels[2] * 2, out_channels, 3, padding=1,
                              conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def _make_layer(self, in_channels: int, out_channels: int, blocks: int, stride: int,
                    expand_ratio: int) -> nn.Sequential:
        """``blocks`` inverted residuals; only the first changes width and has ``stride``."""
        return nn.Sequential(*[
            InvertedResidual(in_channels if i == 0 else out_channels, out_channels,
                             stride if i == 0 else 1, expand_ratio, conv_cfg=self.conv_cfg,
                             norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for i in range(blocks)])

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, in_channels, H, W). Returns (N, out_channels, H / s, W / s)."""
        x = self.bottleneck3(self.bottleneck2(self.bottleneck1(x)))
        return self.out(torch.cat([x, *self.ppm(x)], dim=1))


class FeatureFusionModule(nn.Module):
    """Fuse the stride-8 (higher-resolution) and stride-32 (lower-resolution) branches.

    The low-resolution map is bilinearly resized to the high-resolution map's size, then
    passed through a 3x3 grouped conv with ``groups=out_channels`` (``dwconv``, depthwise when
    ``lower_in_channels == out_channels``) and a 1x1 conv without activation
    (``conv_lower_res``); the high-resolution map through a 1x1 conv without activation
    (``conv_higher_res``). The output is ``relu(higher + lower)``.

    Inputs: higher (N, higher_in_channels, h, w), lower (N, lower_in_channels, h', w') of
    any size; output (N, out_channels, h, w).

    Args:
        higher_in_channels: Channels of the higher-resolution input.
        lower_in_channels: Channels of the lower-resolution input (a multiple of
            ``out_channels``: ``dwconv`` has ``out_channels`` groups).
        out_channels: Output channels.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        dwconv_act_cfg: Activation after ``dwconv``.
        conv_act_cfg: Activation after the two 1x1 convs (None: linear before the sum).
        align_corners: ``align_corners`` of the resize.
    """

    def __init__(self,
                 higher_in_channels: int,
                 lower_in_channels: int,
                 out_channels: int,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 dwconv_act_cfg: Optional[dict] = dict(type='ReLU'),
                 conv_act_cfg: Optional[dict] = None,
                 align_corners: bool = False) -> None:
        super().__init__()
        if lower_in_channels % out_channels:
            raise ValueError(
                f'FeatureFusionModule: lower_in_channels={lower_in_channels} must be a multiple '
                f'of out_channels={out_channels} (dwconv has out_channels groups)')
        self.align_corners = align_corners
        self.dwconv = ConvModule(lower_in_channels, out_channels, 3, padding=1,
                                 groups=out_channels, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                 act_cfg=dwconv_act_cfg)
        self.conv_lower_res = ConvModule(out_channels, out_channels, 1, conv_cfg=conv_cfg,
                                         norm_cfg=norm_cfg, act_cfg=conv_act_cfg)
        self.conv_higher_res = ConvModule(higher_in_channels, out_channels, 1,
                                          conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                          act_cfg=conv_act_cfg)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, higher_res_feature: Tensor, lower_res_feature: Tensor) -> Tensor:
        """Args: higher (N, C_h, h, w), lower (N, C_l, h', w'). Returns (N, out_channels, h, w)."""
        lower = resize(lower_res_feature, size=higher_res_feature.shape[2:], mode='bilinear',
                       align_corners=self.align_corners)
        lower = self.conv_lower_res(self.dwconv(lower))
        return self.relu(self.conv_higher_res(higher_res_feature) + lower)
