"""Split-attention convolution of ResNeSt (Zhang et al. 2020, "ResNeSt: Split-Attention
Networks").

A grouped convolution produces ``radix`` feature maps ("splits") of ``channels`` channels each;
their sum is pooled globally and passed through a two-layer bottleneck (``fc1``, ``fc2``, both
grouped by the cardinality ``groups``) that predicts one weight per split and channel; the weights
are normalised across the splits (:func:`radix_softmax`) and the splits are summed with them
(:func:`fuse_splits`). With ``radix == 1`` this is squeeze-and-excitation gating with a sigmoid.

Sub-module names (``conv``, ``bn0``, ``fc1``, ``bn1``, ``fc2``; norms named after their type)
follow mmsegmentation 1.x, so its ResNeSt checkpoints load unchanged.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from torch import Tensor

from segdet.utils.arg_checks import check_int

#: Smallest width of the attention bottleneck (``fc1``'s output), as in ResNeSt.
MIN_INTER_CHANNELS = 32


def radix_softmax(logits: Tensor, radix: int, groups: int) -> Tensor:
    """Normalise attention logits across the radix splits, separately for each group.

    The logits come group-major from the grouped ``fc2`` (group ``g``, split ``r``, channel
    ``c`` at index ``(g * radix + r) * C + c``, ``C = channels / groups``); the weights are
    returned split-major (at index ``(r * groups + g) * C + c``), the order of the conv output's
    splits. With ``radix == 1`` each logit gets a sigmoid and the order is unchanged.

    Args:
        logits: (N, groups * radix * C, ...) float tensor (trailing dims of size 1 allowed).
        radix: Number of splits, >= 1.
        groups: Cardinality, >= 1.

    Returns:
        (N, groups * radix * C) float tensor of weights; for ``radix > 1`` the ``radix`` weights
        of each (group, channel) sum to 1.
    """
    batch = logits.size(0)
    if radix == 1:
        return torch.sigmoid(logits).reshape(batch, -1)
    per_split = logits.reshape(batch, groups, radix, -1).transpose(1, 2)
    return F.softmax(per_split, dim=1).reshape(batch, -1)


def fuse_splits(features: Tensor, weights: Tensor, radix: int) -> Tensor:
    """Weighted sum of the radix splits of ``features``.

    Args:
        features: (N, radix * C, H, W) float tensor, split-major (split ``r`` is channels
            ``r * C`` to ``(r + 1) * C``).
        weights: (N, radix * C) float tensor in the same order (:func:`radix_softmax`).
        radix: Number of splits.

    Returns:
        (N, C, H, W) float tensor: ``sum_r weights[:, r] * features[:, r]`` (for ``radix == 1``
        the gated features).
    """
    batch, _, height, width = features.shape
    splits = features.reshape(batch, radix, -1, height, width)
    return (weights.reshape(batch, radix, -1, 1, 1) * splits).sum(dim=1)


class RSoftmax(nn.Module):
    """Module form of :func:`radix_softmax` (mmseg's ``RSoftmax``; no parameters).

    Args:
        radix: Number of splits, >= 1.
        groups: Cardinality, >= 1.
    """

    def __init__(self, radix: int, groups: int) -> None:
        super().__init__()
        self.radix = check_int(radix, 'RSoftmax: radix', 1)
        self.groups = check_int(groups, 'RSoftmax: groups', 1)

    def forward(self, x: Tensor) -> Tensor:
        """(N, groups * radix * C, ...) logits -> (N, groups * radix * C) weights."""
        return radix_softmax(x, self.radix, self.groups)


class SplitAttentionConv2d(nn.Module):
    """Split-attention convolution: conv -> norm -> ReLU into ``radix`` splits, then attention.

    Input (N, in_channels, H, W) float; output (N, channels, H', W') float, where H', W' are
    those of an ``nn.Conv2d`` with the given kernel size, stride, padding and dilation.

    Args:
        in_channels: Input channels; divisible by ``groups * radix``.
        channels: Output channels; divisible by ``groups``.
        kernel_size: Kernel size of the split convolution.
        stride: Stride of the split convolution.
        padding: Padding of the split convolution.
        dilation: Dilation of the split convolution.
        groups: Cardinality: the conv has ``groups * radix`` groups, ``fc1``/``fc2`` have
            ``groups``.
        radix: Number of splits, >= 1 (1: sigmoid gating).
        reduction_factor: The attention bottleneck has ``max(in_channels * radix //
            reduction_factor, 32)`` channels.
        conv_cfg: Config of the split conv (None: ``nn.Conv2d``); ``fc1``/``fc2`` are always
            ``nn.Conv2d`` 1x1 with bias.
        norm_cfg: Config of the norms after the conv (``bn0``) and ``fc1`` (``bn1``).
        dcn: Not supported; must be None.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 kernel_size: int,
                 stride: int = 1,
                 padding: int = 0,
                 dilation: int = 1,
                 groups: int = 1,
                 radix: int = 2,
                 reduction_factor: int = 4,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 dcn: Optional[dict] = None) -> None:
        super().__init__()
        name = type(self).__name__
        check_int(in_channels, f'{name}: in_channels', 1)
        check_int(channels, f'{name}: channels', 1)
        groups = check_int(groups, f'{name}: groups', 1)
        radix = check_int(radix, f'{name}: radix', 1)
        check_int(reduction_factor, f'{name}: reduction_factor', 1)
        if dcn is not None:
            raise NotImplementedError(
                f'{name}: dcn={dcn!r}: deformable split-attention convs are not supported by '
                'segdet yet; leave dcn=None.')
        if in_channels % (groups * radix) or channels % groups:
            raise ValueError(
                f'{name}: in_channels={in_channels} must be divisible by groups * radix = '
                f'{groups} * {radix} and channels={channels} by groups={groups}')
        inter_channels = max(in_channels * radix // reduction_factor, MIN_INTER_CHANNELS)
        if inter_channels % groups:
            raise ValueError(
                f'{name}: the attention width max(in_channels * radix // reduction_factor, '
                f'{MIN_INTER_CHANNELS}) = {inter_channels} must be divisible by groups={groups}')
        self.radix = radix
        self.groups = groups
        self.channels = channels
        self.conv = build_conv_layer(conv_cfg, in_channels, channels * radix, kernel_size,
                                     stride=stride, padding=padding, dilation=dilation,
                                     groups=groups * radix, bias=False)
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = nn.Conv2d(channels, inter_channels, 1, groups=groups)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = nn.Conv2d(inter_channels, channels * radix, 1, groups=groups)
        self.rsoftmax = RSoftmax(radix, groups)

    @property
    def norm0(self) -> nn.Module:
        """Norm after the split conv."""
        return getattr(self, self.norm0_name)

    @property
    def norm1(self) -> nn.Module:
        """Norm after ``fc1``."""
        return getattr(self, self.norm1_name)

    def attention(self, features: Tensor) -> Tensor:
        """Split weights from the activated conv output.

        Args:
            features: (N, radix * channels, H, W) float tensor.

        Returns:
            (N, radix * channels) float weights, split-major.
        """
        batch, _, height, width = features.shape
        summed = features.reshape(batch, self.radix, -1, height, width).sum(dim=1)
        pooled = F.adaptive_avg_pool2d(summed, 1)
        hidden = self.relu(self.norm1(self.fc1(pooled)))
        return self.rsoftmax(self.fc2(hidden))

    def forward(self, x: Tensor) -> Tensor:
        """Apply the split-attention conv.

        Args:
            x: (N, in_channels, H, W) float tensor.

        Returns:
            (N, channels, H', W') float tensor.
        """
        features = self.relu(self.norm0(self.conv(x)))
        return fuse_splits(features, self.attention(features), self.radix)
