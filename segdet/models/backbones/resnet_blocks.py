"""Residual blocks of the ResNet family: ``BasicBlock`` (two 3x3 convs) and ``Bottleneck``.

Sub-module names (``conv1``, ``bn1``/``gn1``, ``conv2``, ..., ``downsample``) follow
mmsegmentation 1.x / mmdetection 3.x (and torchvision) so that their checkpoints load unchanged.
Norm layers are built with ``build_norm_layer(..., postfix=k)``, which names them after the norm
type (``bn1`` for BN/SyncBN, ``gn1`` for GN); the ``norm1``/``norm2``/``norm3`` properties give
access independent of the type.
"""
import math
from typing import List, Optional, Tuple, Union

import torch.nn as nn
import torch.utils.checkpoint as checkpoint
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

ConfigType = dict
OptConfigType = Optional[dict]
OptMultiConfig = Union[dict, List[dict], None]

RESNET_STYLES = ('pytorch', 'caffe')


def conv_strides(style: str, stride: int) -> Tuple[int, int]:
    """Where a bottleneck puts its stride.

    Args:
        style: ``'pytorch'`` puts the stride on the 3x3 conv (conv2), ``'caffe'`` on the
            first 1x1 conv (conv1), as the original Caffe ResNets did.
        stride: Stride of the block.

    Returns:
        ``(conv1_stride, conv2_stride)``.
    """
    if style not in RESNET_STYLES:
        raise ValueError(f'ResNet style must be one of {RESNET_STYLES}, got {style!r}')
    return (1, stride) if style == 'pytorch' else (stride, 1)


def bottleneck_width(planes: int, groups: int = 1, base_width: int = 4,
                     base_channels: int = 64) -> int:
    """Number of channels of the inner (grouped) 3x3 conv of a bottleneck.

    ResNet (``groups == 1``) keeps ``planes``; ResNeXt widens it to
    ``floor(planes * base_width / base_channels) * groups``, e.g. X-101-32x8d in its first
    stage: ``floor(64 * 8 / 64) * 32 = 256``.

    Args:
        planes: Bottleneck planes (output channels are ``4 * planes``).
        groups: Number of conv groups (cardinality).
        base_width: Channels per group in the first stage.
        base_channels: Planes of the first stage.

    Returns:
        The inner width.
    """
    if groups == 1:
        return planes
    return math.floor(planes * (base_width / base_channels)) * groups


def _reject_unsupported(dcn: OptConfigType, plugins: Optional[list]) -> None:
    """Fail loudly on features this implementation does not provide."""
    if dcn is not None:
        raise NotImplementedError(
            f'dcn={dcn!r}: deformable convolutions in ResNet blocks are not supported by '
            'segdet yet; leave dcn=None.')
    if plugins is not None:
        raise NotImplementedError(
            f'plugins={plugins!r}: block plugins are not supported by segdet yet; '
            'leave plugins=None.')


class _ResidualBlock(BaseModule):
    """Shared residual plumbing: identity/downsample shortcut, checkpointing, final ReLU.

    Subclasses build their convs/norms and implement ``_residual``; ``zero_init_norm`` names
    the norm before the residual sum (zeroed by ``zero_init_residual``).
    """

    expansion = 1
    zero_init_norm = ''

    def __init__(self, downsample: Optional[nn.Module], with_cp: bool,
                 init_cfg: OptMultiConfig) -> None:
        super().__init__(init_cfg)
        self.downsample = downsample
        self.with_cp = with_cp
        self.relu = nn.ReLU(inplace=True)

    def _add_norm(self, norm_cfg: ConfigType, channels: int, postfix: int) -> str:
        name, norm = build_norm_layer(norm_cfg, channels, postfix=postfix)
        self.add_module(name, norm)
        return name

    @property
    def last_norm(self) -> nn.Module:
        """The norm layer right before the residual sum."""
        return getattr(self, self.zero_init_norm)

    def _residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _residual_plus_shortcut(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self._residual(x)
        # In place: the residual ends in a norm layer, whose backward does not need its
        # output; saves one full-size allocation and copy per block.
        out += identity
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x: (N, inplanes, H, W) float tensor.

        Returns:
            (N, planes * expansion, H / stride, W / stride) float tensor.
        """
        if self.with_cp and x.requires_grad:
            # Recompute activations in backward to save memory.
            out = checkpoint.checkpoint(self._residual_plus_shortcut, x, use_reentrant=False)
        else:
            out = self._residual_plus_shortcut(x)
        return self.relu(out)


class BasicBlock(_ResidualBlock):
    """Two 3x3 convs (ResNet-18/34). ``dilation`` applies to the first conv only, as in mmseg.

    Args:
        inplanes: Input channels.
        planes: Output channels.
        stride: Stride of the first conv.
        dilation: Dilation (and padding) of the first conv.
        downsample: Shortcut projection, or None for identity.
        style: Accepted for a common block interface; a basic block has one place for stride.
        with_cp: Use ``torch.utils.checkpoint`` in training to save memory.
        conv_cfg: Conv config for ``build_conv_layer`` (None: ``nn.Conv2d``).
        norm_cfg: Norm config for ``build_norm_layer``.
        dcn: Not supported; must be None.
        plugins: Not supported; must be None.
        init_cfg: mmengine init config.
    """

    expansion = 1
    zero_init_norm = 'norm2'

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
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(downsample, with_cp, init_cfg)
        _reject_unsupported(dcn, plugins)
        conv_strides(style, stride)  # validates style
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.conv1 = build_conv_layer(conv_cfg, inplanes, planes, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=False)
        self.norm1_name = self._add_norm(norm_cfg, planes, 1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, padding=1, bias=False)
        self.norm2_name = self._add_norm(norm_cfg, planes, 2)

    @property
    def norm1(self) -> nn.Module:
        """Norm after ``conv1``."""
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        """Norm after ``conv2``."""
        return getattr(self, self.norm2_name)

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        return self.norm2(self.conv2(out))


class Bottleneck(_ResidualBlock):
    """1x1 -> 3x3 -> 1x1 bottleneck (ResNet-50/101/152; ResNeXt with ``groups > 1``).

    Args:
        inplanes: Input channels.
        planes: Inner planes; output channels are ``planes * 4``.
        stride: Block stride, on conv2 (``style='pytorch'``) or conv1 (``'caffe'``).
        dilation: Dilation (and padding) of the 3x3 conv.
        downsample: Shortcut projection, or None for identity.
        style: ``'pytorch'`` or ``'caffe'``.
        with_cp: Use ``torch.utils.checkpoint`` in training to save memory.
        conv_cfg: Conv config for ``build_conv_layer`` (None: ``nn.Conv2d``).
        norm_cfg: Norm config for ``build_norm_layer``.
        dcn: Not supported; must be None.
        plugins: Not supported; must be None.
        groups: Groups of the 3x3 conv (ResNeXt cardinality).
        base_width: ResNeXt channels per group in the first stage.
        base_channels: Planes of the first stage (for the ResNeXt width rule).
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
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(downsample, with_cp, init_cfg)
        _reject_unsupported(dcn, plugins)
        self.inplanes = inplanes
        self.planes = planes
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.conv1_stride, self.conv2_stride = conv_strides(style, stride)
        width = bottleneck_width(planes, groups, base_width, base_channels)
        out_channels = planes * self.expansion

        self.conv1 = build_conv_layer(conv_cfg, inplanes, width, 1,
                                      stride=self.conv1_stride, bias=False)
        self.norm1_name = self._add_norm(norm_cfg, width, 1)
        self.conv2 = build_conv_layer(conv_cfg, width, width, 3, stride=self.conv2_stride,
                                      padding=dilation, dilation=dilation, groups=groups,
                                      bias=False)
        self.norm2_name = self._add_norm(norm_cfg, width, 2)
        self.conv3 = build_conv_layer(conv_cfg, width, out_channels, 1, bias=False)
        self.norm3_name = self._add_norm(norm_cfg, out_channels, 3)

    @property
    def norm1(self) -> nn.Module:
        """Norm after ``conv1``."""
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        """Norm after ``conv2``."""
        return getattr(self, self.norm2_name)

    @property
    def norm3(self) -> nn.Module:
        """Norm after ``conv3``."""
        return getattr(self, self.norm3_name)

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        return self.norm3(self.conv3(out))
