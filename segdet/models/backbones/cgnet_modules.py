"""Building blocks of CGNet (Wu et al., "CGNet: A Light-weight Context Guided Network for
Semantic Segmentation", arXiv:1811.08201).

Module and parameter names follow mmsegmentation 1.x (``mmseg/models/backbones/cgnet.py``), so
its checkpoints load unchanged.
"""
import copy
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_conv_layer, build_norm_layer
from torch import Tensor
from torch.utils import checkpoint

from segdet.utils.arg_checks import check_int


def prelu_act_cfg(act_cfg: Optional[dict], num_parameters: int) -> Optional[dict]:
    """A copy of ``act_cfg`` with ``num_parameters`` set when it is a PReLU (one slope per
    channel, as mmseg's CGNet); other activations are returned as copies, unchanged.

    mmseg writes ``num_parameters`` into the caller's dict; segdet never edits a config it is
    handed, so every module gets its own copy.
    """
    if act_cfg is None:
        return None
    act_cfg = copy.deepcopy(act_cfg)
    if act_cfg.get('type') == 'PReLU':
        act_cfg['num_parameters'] = num_parameters
    return act_cfg


def global_context_reweight(x: Tensor, fc: nn.Module) -> Tensor:
    """Scale each channel of ``x`` by a gate computed from its global average.

    Args:
        x: (N, C, H, W) float features.
        fc: Maps (N, C) channel means to (N, C) gates (in CGNet two linear layers with a
            ReLU between them and a sigmoid at the end).

    Returns:
        (N, C, H, W): ``x[n, c] * fc(mean_hw(x))[n, c]``.
    """
    gates = fc(x.mean(dim=(2, 3)))
    return x * gates[:, :, None, None]


class GlobalContextExtractor(nn.Module):
    """Channel reweighting by the global context (squeeze-and-excitation style).

    ``fc`` is Linear(C, C // reduction) -> ReLU -> Linear(C // reduction, C) -> Sigmoid, applied
    to the spatial mean of the input; the input is multiplied by the resulting gates.
    Input and output: (N, channel, H, W).

    Args:
        channel: Number of channels C.
        reduction: Width reduction of the hidden layer; 1 <= reduction <= channel.
        with_cp: Recompute the forward in backward to save memory (gradient checkpointing).
    """

    def __init__(self, channel: int, reduction: int = 16, with_cp: bool = False) -> None:
        super().__init__()
        check_int(channel, 'GlobalContextExtractor: channel', 1)
        check_int(reduction, 'GlobalContextExtractor: reduction', 1)
        if reduction > channel:
            raise ValueError(f'GlobalContextExtractor: reduction={reduction} must be <= '
                             f'channel={channel} (the hidden layer would have '
                             f'{channel // reduction} units)')
        self.channel = channel
        self.reduction = reduction
        self.with_cp = with_cp
        hidden = channel // reduction
        self.fc = nn.Sequential(
            nn.Linear(channel, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channel),
            nn.Sigmoid())

    def _reweight(self, x: Tensor) -> Tensor:
        return global_context_reweight(x, self.fc)

    def forward(self, x: Tensor) -> Tensor:
        """Args: (N, C, H, W) float. Returns: (N, C, H, W), each channel scaled by its gate."""
        if self.with_cp and x.requires_grad:
            return checkpoint.checkpoint(self._reweight, x, use_reentrant=False)
        return self._reweight(x)


class ContextGuidedBlock(nn.Module):
    """Context-guided block: local feature, surrounding context, joint feature, global context.

    ``conv1x1`` (a 1x1 ConvModule, or a stride-2 3x3 one when ``downsample``) makes ``c``
    channels (``out_channels`` when downsampling, ``out_channels // 2`` otherwise); the local
    feature ``f_loc`` (depthwise 3x3) and the surrounding context ``f_sur`` (depthwise 3x3 with
    ``dilation``) are concatenated into the joint feature (2c channels), normalised (``bn``)
    and activated (``activate``, a PReLU with 2c slopes); when downsampling ``bottleneck``
    (1x1) reduces it to ``out_channels``. ``f_glo`` reweights its channels by the global
    context, and without downsampling the input is added back (``skip_connect``).

    Input (N, in_channels, H, W); output (N, out_channels, H', W') with H' = ceil(H / 2) when
    ``downsample`` and H' = H otherwise.

    Args:
        in_channels: Input channels.
        out_channels: Output channels; even when not downsampling.
        dilation: Dilation of the surrounding-context conv.
        reduction: Reduction of the global context extractor (<= out_channels).
        skip_connect: Add the input to the output (only without downsampling, where it needs
            in_channels == out_channels).
        downsample: Halve the resolution (stride-2 3x3 first conv, then the 1x1 bottleneck).
        conv_cfg: Conv config (None: Conv2d).
        norm_cfg: Norm config.
        act_cfg: Activation of ``conv1x1``; a PReLU gets one slope per channel.
        with_cp: Gradient checkpointing.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 dilation: int = 2,
                 reduction: int = 16,
                 skip_connect: bool = True,
                 downsample: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='PReLU'),
                 with_cp: bool = False) -> None:
        super().__init__()
        check_int(in_channels, 'ContextGuidedBlock: in_channels', 1)
        check_int(out_channels, 'ContextGuidedBlock: out_channels', 1)
        check_int(dilation, 'ContextGuidedBlock: dilation', 1)
        if not downsample and out_channels % 2:
            raise ValueError(f'ContextGuidedBlock: out_channels={out_channels} must be even '
                             'without downsample (the joint feature is 2 * out_channels // 2)')
        if skip_connect and not downsample and in_channels != out_channels:
            raise ValueError(f'ContextGuidedBlock: the residual needs in_channels == '
                             f'out_channels, got {in_channels} and {out_channels} (set '
                             'skip_connect=False or downsample=True)')
        self.with_cp = with_cp
        self.downsample = downsample
        self.skip_connect = skip_connect and not downsample

        channels = out_channels if downsample else out_channels // 2
        kernel_size = 3 if downsample else 1
        self.conv1x1 = ConvModule(
            in_channels, channels, kernel_size, stride=2 if downsample else 1,
            padding=kernel_size // 2, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=prelu_act_cfg(act_cfg, channels))
        self.f_loc = build_conv_layer(conv_cfg, channels, channels, kernel_size=3, padding=1,
                                      groups=channels, bias=False)
        self.f_sur = build_conv_layer(conv_cfg, channels, channels, kernel_size=3,
                                      padding=dilation, dilation=dilation, groups=channels,
                                      bias=False)
        self.bn = build_norm_layer(norm_cfg, 2 * channels)[1]
        # A PReLU whatever act_cfg says, as in mmseg (its weights are in the checkpoints).
        self.activate = nn.PReLU(2 * channels)
        if downsample:
            self.bottleneck = build_conv_layer(conv_cfg, 2 * channels, out_channels,
                                               kernel_size=1, bias=False)
        self.f_glo = GlobalContextExtractor(out_channels, reduction, with_cp)

    def _block(self, x: Tensor) -> Tensor:
        out = self.conv1x1(x)
        joint = torch.cat([self.f_loc(out), self.f_sur(out)], dim=1)
        joint = self.activate(self.bn(joint))
        if self.downsample:
            joint = self.bottleneck(joint)
        out = self.f_glo(joint)
        return x + out if self.skip_connect else out

    def forward(self, x: Tensor) -> Tensor:
        """Args: (N, in_channels, H, W) float. Returns: (N, out_channels, H', W')."""
        if self.with_cp and x.requires_grad:
            return checkpoint.checkpoint(self._block, x, use_reentrant=False)
        return self._block(x)


class InputInjection(nn.Module):
    """The image downsampled by ``num_downsampling`` 3x3 stride-2 average pools (padding 1).

    Input (N, C, H, W); output (N, C, H_k, W_k) with H_{i+1} = floor((H_i - 1) / 2) + 1, the
    same sizes as the stride-2 3x3 convs of the main path, so the two can be concatenated.

    Args:
        num_downsampling: Number of pools (0 keeps the input).
    """

    def __init__(self, num_downsampling: int) -> None:
        super().__init__()
        check_int(num_downsampling, 'InputInjection: num_downsampling', 0)
        self.pool = nn.ModuleList(
            nn.AvgPool2d(3, stride=2, padding=1) for _ in range(num_downsampling))

    def forward(self, x: Tensor) -> Tensor:
        """Args: (N, C, H, W) float. Returns: (N, C, H_k, W_k) float."""
        for pool in self.pool:
            x = pool(x)
        return x
