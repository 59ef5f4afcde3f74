"""ResNeSt backbone (Zhang et al. 2020, "ResNeSt: Split-Attention Networks").

A ResNet-D (deep stem, AvgPool shortcuts) whose bottlenecks replace the 3x3 conv and its norm by
a split-attention conv (``segdet/models/utils/split_attention.py``) and, in downsampling blocks,
move the stride into a 3x3 average pooling after it (``avg_down_stride``). Arguments and
state-dict names are mmsegmentation 1.x's: S-101 is ``ResNeSt(depth=101, stem_channels=128,
radix=2, reduction_factor=4, avg_down_stride=True)`` (``open-mmlab://resnest101``).
"""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import build_conv_layer
from torch import Tensor

from segdet.models.utils.res_layer import ResLayer
from segdet.models.utils.split_attention import SplitAttentionConv2d
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int
from .resnet import ResNetV1d
from .resnet_blocks import (ConfigType, OptConfigType, OptMultiConfig, _reject_unsupported,
                            _ResidualBlock, bottleneck_width, conv_strides)


def resnest_width(planes: int, groups: int, base_width: int, base_channels: int,
                  where: str) -> int:
    """Inner width of a ResNeSt bottleneck (the ResNeXt rule of ``bottleneck_width``).

    Raises:
        ValueError: the rule gives fewer than ``groups`` channels (0 per group).
    """
    width = bottleneck_width(planes, groups, base_width, base_channels)
    if width < groups:
        raise ValueError(
            f'{where}: base_width={base_width} with groups={groups} gives an inner width of '
            f'floor({planes} * {base_width} / {base_channels}) * {groups} = {width} channels '
            f'for planes={planes}; base_width must be >= base_channels / planes')
    return width


class ResNeStBottleneck(_ResidualBlock):
    """1x1 conv -> split-attention 3x3 conv (-> 3x3 AvgPool stride s) -> 1x1 conv, plus shortcut.

    mmseg's ``resnest.Bottleneck``: ``conv1``/``bn1``, ``conv2`` (a ``SplitAttentionConv2d``,
    with its own norm and ReLU, so there is no ``bn2``), ``avd_layer`` (no parameters),
    ``conv3``/``bn3``, ``downsample``.

    Args:
        inplanes: Input channels.
        planes: Inner planes; output channels are ``planes * 4``.
        stride: Block stride, on the 3x3 stage (``'pytorch'``) or conv1 (``'caffe'``).
        dilation: Dilation (and padding) of the split-attention conv.
        downsample: Shortcut projection, or None for identity.
        style: ``'pytorch'`` or ``'caffe'``.
        with_cp: Use ``torch.utils.checkpoint`` in training to save memory.
        conv_cfg: Conv config for ``build_conv_layer`` (None: ``nn.Conv2d``).
        norm_cfg: Norm config for ``build_norm_layer``.
        dcn: Not supported; must be None.
        plugins: Not supported; must be None.
        groups: Cardinality of the split-attention conv.
        base_width: Channels per group in the first stage (when ``groups > 1``).
        base_channels: Planes of the first stage (for the width rule).
        radix: Splits of the split-attention conv.
        reduction_factor: Reduction of the attention bottleneck.
        avg_down_stride: Downsample with a stride-s 3x3 AvgPool after the split-attention conv
            (which then has stride 1) when its stride s > 1.
        init_cfg: mmengine init config.
    """

    expansion = 4
    zero_init_norm = 'norm3'

    def __init__(self,
                 inplanes: int,
                 planes: int,
                 stride: int = 1,
                 dilation: int = 1,
                 downsample: Optional[nn.Module] = None,
                 style: str = 'pytorch',
                 with_cp: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 dcn: OptConfigType = None,
                 plugins: Optional[list] = None,
                 groups: int = 1,
                 base_width: int = 4,
                 base_channels: int = 64,
                 radix: int = 2,
                 reduction_factor: int = 4,
                 avg_down_stride: bool = True,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(downsample, with_cp, init_cfg)
        _reject_unsupported(dcn, plugins)
        self.inplanes = inplanes
        self.planes = planes
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.conv1_stride, self.conv2_stride = conv_strides(style, stride)
        self.avg_down_stride = avg_down_stride and self.conv2_stride > 1
        width = resnest_width(planes, groups, base_width, base_channels, type(self).__name__)
        out_channels = planes * self.expansion

        self.conv1 = build_conv_layer(conv_cfg, inplanes, width, 1, stride=self.conv1_stride,
                                      bias=False)
        self.norm1_name = self._add_norm(norm_cfg, width, 1)
        self.conv2 = SplitAttentionConv2d(
            width, width, kernel_size=3, stride=1 if self.avg_down_stride else self.conv2_stride,
            padding=dilation, dilation=dilation, groups=groups, radix=radix,
            reduction_factor=reduction_factor, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if self.avg_down_stride:
            self.avd_layer = nn.AvgPool2d(3, self.conv2_stride, padding=1)
        self.conv3 = build_conv_layer(conv_cfg, width, out_channels, 1, bias=False)
        self.norm3_name = self._add_norm(norm_cfg, out_channels, 3)

    @property
    def norm1(self) -> nn.Module:
        """Norm after ``conv1``."""
        return getattr(self, self.norm1_name)

    @property
    def norm3(self) -> nn.Module:
        """Norm after ``conv3``."""
        return getattr(self, self.norm3_name)

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.conv2(out)
        if self.avg_down_stride:
            out = self.avd_layer(out)
        return self.norm3(self.conv3(out))


@MODELS.register_module()
class ResNeSt(ResNetV1d):
    """ResNeSt: a ResNet-D of split-attention bottlenecks.

    Input (N, in_channels, H, W) float; output a tuple of (N, C_i, H / s_i, W / s_i) float
    tensors as ``ResNet``'s (``C_i = base_channels * 2**i * 4``). The stem is always the deep
    one and shortcuts use AvgPool (``ResNetV1d``; ``deep_stem``/``avg_down`` cannot be given).

    Args:
        groups: Cardinality of the split-attention convs.
        base_width: Channels per group in the first stage (used when ``groups > 1``).
        radix: Splits per split-attention conv, >= 1 (1: sigmoid gating).
        reduction_factor: Reduction of the attention bottleneck, >= 1.
        avg_down_stride: Downsample inside blocks with a 3x3 AvgPool after the split-attention
            conv instead of a strided conv.
        **kwargs: ``ResNet`` arguments; depth must be 50, 101, 152 or 200.
    """

    arch_settings = {
        50: (ResNeStBottleneck, (3, 4, 6, 3)),
        101: (ResNeStBottleneck, (3, 4, 23, 3)),
        152: (ResNeStBottleneck, (3, 8, 36, 3)),
        200: (ResNeStBottleneck, (3, 24, 36, 3)),
    }

    def __init__(self,
                 groups: int = 1,
                 base_width: int = 4,
                 radix: int = 2,
                 reduction_factor: int = 4,
                 avg_down_stride: bool = True,
                 **kwargs) -> None:
        name = type(self).__name__
        # Set before ResNet.__init__, which calls make_res_layer.
        self.groups = check_int(groups, f'{name}: groups', 1)
        self.base_width = check_int(base_width, f'{name}: base_width', 1)
        self.radix = check_int(radix, f'{name}: radix', 1)
        self.reduction_factor = check_int(reduction_factor, f'{name}: reduction_factor', 1)
        self.avg_down_stride = avg_down_stride
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs) -> ResLayer:
        """Build one stage of split-attention bottlenecks."""
        return ResLayer(groups=self.groups, base_width=self.base_width,
                        base_channels=self.base_channels, radix=self.radix,
                        reduction_factor=self.reduction_factor,
                        avg_down_stride=self.avg_down_stride, **kwargs)
