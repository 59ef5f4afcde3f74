"""FBNet's building blocks and the table of block ops that arch definitions name.

The IRF block (inverted residual, FBNet's "IRF"; Wu et al., CVPR 2019) is a 1x1 expansion
conv, a kxk depthwise conv and a 1x1 linear projection, with optional group convs and a channel
shuffle, a squeeze-and-excitation gate, and a residual connection when the shape is kept. Widths
and op names follow maskrcnn-benchmark's ``fbnet_builder.py`` (``PRIMITIVES``), so its arch
definitions build the same layers.
"""
import math
from dataclasses import dataclass
from typing import Optional

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from segdet.utils.arg_checks import check_int

#: Strides a block accepts; a negative stride upsamples by its magnitude (nearest) before the
#: depthwise conv.
BLOCK_STRIDES = (1, 2, 4, -1, -2, -4)
SE_GATES = ('sigmoid', 'hsigmoid')


def fbnet_round_channels(num: float, divisor: int) -> int:
    """``num`` rounded to the nearest multiple of ``divisor`` (halves up), at least one
    ``divisor``; integer ``num`` already a multiple is kept. With ``divisor=1``: ``int(num)``.

    maskrcnn-benchmark's ``_get_divisible_by`` rounds the same way (e.g. 36 -> 40, 44 -> 48,
    12 -> 16 with divisor 8) except for ``0 < num < divisor / 2``, where it gives
    ``divisor ** 2``; no width of the shipped archs is that small.
    """
    check_int(divisor, 'fbnet_round_channels: divisor', 1)
    num = int(num)
    if num % divisor == 0:
        return max(num, divisor)
    return max(int(math.floor(num / divisor + 0.5)), 1) * divisor


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet): channel ``g * (C / groups) +
    i`` moves to ``i * groups + g``.

    Args:
        x: (N, C, H, W) with ``C`` divisible by ``groups``.
        groups: Number of groups.

    Returns:
        (N, C, H, W), the same values with channels reordered.
    """
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f'channel_shuffle: {c} channels do not split into {groups} groups')
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ChannelShuffle(nn.Module):
    """:func:`channel_shuffle` as a module."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = check_int(groups, 'ChannelShuffle: groups', 1)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W) with the channels of the groups interleaved."""
        return channel_shuffle(x, self.groups)


class FBNetSE(nn.Module):
    """Squeeze-and-excitation of FBNet blocks: global average pool, 1x1 conv to
    ``max(channels // 4, 8)`` channels, ReLU, 1x1 conv back, gate; ``x * gate``.

    Input and output (N, channels, H, W); both convs have a bias (``conv1``, ``conv2``).

    Args:
        channels: Input channels.
        gate: ``'sigmoid'`` (maskrcnn-benchmark's) or ``'hsigmoid'`` (``relu6(x + 3) / 6``).
    """

    reduction = 4
    min_channels = 8

    def __init__(self, channels: int, gate: str = 'sigmoid') -> None:
        super().__init__()
        check_int(channels, 'FBNetSE: channels', 1)
        if gate not in SE_GATES:
            raise ValueError(f'FBNetSE: gate must be one of {SE_GATES}, got {gate!r}')
        mid = max(channels // self.reduction, self.min_channels)
        self.gate = gate
        self.conv1 = nn.Conv2d(channels, mid, 1)
        self.conv2 = nn.Conv2d(mid, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W) scaled per channel."""
        s = self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(x, 1))))
        return x * (s.sigmoid() if self.gate == 'sigmoid' else F.hardsigmoid(s))


class IRFBlock(BaseModule):
    """FBNet's inverted residual block.

    ``pw`` (1x1 conv, ``groups``, norm, ReLU) -> channel shuffle (``groups > 1`` and
    ``shuffle``) -> nearest upsampling (negative ``stride``) -> ``dw`` (kxk depthwise conv with
    ``stride``; norm and ReLU unless ``dw_skip_bn`` / ``dw_skip_relu``; none for k=1; two
    chained for ``cdw``) -> ``pwl`` (1x1 conv, ``groups``, norm, no activation) -> ``+ x``
    (stride 1 and ``in_channels == out_channels``) -> ``se`` gate.

    Input (N, in_channels, H, W); output (N, out_channels, H', W') with ``H' = ceil(H / s)``
    for ``stride = s > 0`` and ``H * |s|`` for ``s < 0``.

    Args:
        in_channels, out_channels: Widths.
        expansion: Hidden width = ``fbnet_round_channels(int(in_channels * expansion),
            width_divisor)``.
        stride: One of :data:`BLOCK_STRIDES`.
        kernel: Depthwise kernel, 1, 3, 5 or 7 (1: no depthwise conv, so no stride > 1).
        groups: Groups of the two 1x1 convs (ShuffleNet-style blocks).
        shuffle: Shuffle the channels after the expansion (with ``groups > 1``).
        se: Add the squeeze-and-excitation gate; ``se_gate`` picks its activation.
        cdw: Two depthwise convs (the first with ``stride``, always with norm and ReLU).
        dilation: Dilation of the depthwise conv(s).
        width_divisor: Hidden widths are multiples of it.
        norm_cfg: Norm of the convs (BN; maskrcnn-benchmark's ``bn_type='bn'``).
        dw_skip_bn, dw_skip_relu: Leave the norm / ReLU out after the (last) depthwise conv.
    """

    def __init__(self, in_channels: int, out_channels: int, expansion: float = 6,
                 stride: int = 1, kernel: int = 3, groups: int = 1, shuffle: bool = False,
                 se: bool = False, se_gate: str = 'sigmoid', cdw: bool = False,
                 dilation: int = 1, width_divisor: int = 1,
                 norm_cfg: Optional[dict] = dict(type='BN'), dw_skip_bn: bool = False,
                 dw_skip_relu: bool = False, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        check_int(in_channels, 'IRFBlock: in_channels', 1)
        check_int(out_channels, 'IRFBlock: out_channels', 1)
        check_int(groups, 'IRFBlock: groups', 1)
        check_int(dilation, 'IRFBlock: dilation', 1)
        if kernel not in (1, 3, 5, 7):
            raise ValueError(f'IRFBlock: kernel must be 1, 3, 5 or 7, got {kernel!r}')
        if stride not in BLOCK_STRIDES:
            raise ValueError(f'IRFBlock: stride must be one of {BLOCK_STRIDES}, got {stride!r}')
        if kernel == 1 and stride > 1:
            # maskrcnn-benchmark silently drops such a stride (there is no depthwise conv).
            raise ValueError(f'IRFBlock: kernel=1 has no depthwise conv to stride by {stride}; '
                             'use stride 1 or a negative (upsampling) stride')
        if not expansion > 0:
            raise ValueError(f'IRFBlock: expansion must be > 0, got {expansion!r}')
        mid = fbnet_round_channels(int(in_channels * expansion), width_divisor)
        bad = [f'{name}={c}' for name, c in (('in_channels', in_channels), ('hidden', mid),
                                             ('out_channels', out_channels)) if c % groups]
        if bad:
            raise ValueError(f'IRFBlock: groups={groups} must divide every width; '
                             f'{", ".join(bad)} does not')
        self.in_channels, self.out_channels, self.mid_channels = in_channels, out_channels, mid
        self.stride = stride
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.upsample = -stride if stride < -1 else 1
        conv_stride = max(stride, 1)
        common = dict(bias=False, norm_cfg=norm_cfg)
        self.pw = ConvModule(in_channels, mid, 1, groups=groups, **common)
        self.shuffle = ChannelShuffle(groups) if shuffle and groups > 1 else None
        dw_last = dict(bias=False, norm_cfg=None if dw_skip_bn else norm_cfg,
                       act_cfg=None if dw_skip_relu else dict(type='ReLU'))
        pad = dilation * (kernel // 2)
        if kernel == 1:
            self.dw = None
        elif cdw:
            self.dw = nn.Sequential(
                ConvModule(mid, mid, kernel, conv_stride, pad, dilation, groups=mid, **common),
                ConvModule(mid, mid, kernel, 1, pad, dilation, groups=mid, **dw_last))
        else:
            self.dw = ConvModule(mid, mid, kernel, conv_stride, pad, dilation, groups=mid,
                                 **dw_last)
        self.pwl = ConvModule(mid, out_channels, 1, groups=groups, act_cfg=None, **common)
        self.se = FBNetSE(out_channels, se_gate) if se else None

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H', W')."""
        y = self.pw(x)
        if self.shuffle is not None:
            y = self.shuffle(y)
        if self.upsample > 1:
            y = F.interpolate(y, scale_factor=self.upsample, mode='nearest')
        if self.dw is not None:
            y = self.dw(y)
        y = self.pwl(y)
        if self.use_res_connect:
            y = y + x
        return self.se(y) if self.se is not None else y


class FBNetSkip(BaseModule):
    """The ``skip`` op: the input itself, or a 1x1 conv + norm + ReLU when the block changes
    the width or strides (``stride`` 1, 2 or 4)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if stride not in (1, 2, 4):
            raise ValueError(f'FBNetSkip: stride must be 1, 2 or 4, got {stride!r}')
        self.out_channels, self.stride = out_channels, stride
        self.conv = (ConvModule(in_channels, out_channels, 1, stride, bias=False,
                                norm_cfg=norm_cfg)
                     if in_channels != out_channels or stride != 1 else None)

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))."""
        return self.conv(x) if self.conv is not None else x


@dataclass(frozen=True)
class FBNetOp:
    """What a block op name builds: ``skip``, or an IRF block with these settings
    (``expansion=None``: the arch row's ``t``)."""

    skip: bool = False
    kernel: int = 3
    expansion: Optional[float] = None
    groups: int = 1
    se: bool = False
    cdw: bool = False


def _ops() -> dict[str, FBNetOp]:
    """maskrcnn-benchmark's IRF-family op names (``PRIMITIVES``): ``ir_k{k}`` (row's
    expansion), ``_e{t}`` (fixed expansion), ``_s{g}`` (``g`` groups + shuffle; expansion 4
    for ``s4``, 1 for ``s2``), ``_se`` (SE gate), ``_sep`` / ``k33`` (two depthwise convs)."""
    ops = {'skip': FBNetOp(skip=True), 'shuffle': FBNetOp(kernel=3, groups=4)}
    for k in (1, 3, 5, 7):
        ops[f'ir_k{k}'] = FBNetOp(kernel=k)
    for k in (3, 5):
        for se in ('', '_se'):
            for e in (1, 3, 6):
                ops[f'ir_k{k}_e{e}{se}'] = FBNetOp(kernel=k, expansion=e, se=bool(se))
            ops[f'ir_k{k}_s4{se}'] = FBNetOp(kernel=k, expansion=4, groups=4, se=bool(se))
            ops[f'ir_k{k}_s2{se}'] = FBNetOp(kernel=k, expansion=1, groups=2, se=bool(se))
    ops['ir_k3_sep'] = FBNetOp(kernel=3, cdw=True)
    ops['ir_k7_sep'] = FBNetOp(kernel=7, cdw=True)
    for e in (1, 3, 6):
        ops[f'ir_k33_e{e}'] = FBNetOp(kernel=3, expansion=e, cdw=True)
        ops[f'ir_k7_e{e}'] = FBNetOp(kernel=7, expansion=e)
        ops[f'ir_k7_sep_e{e}'] = FBNetOp(kernel=7, expansion=e, cdw=True)
    return ops


#: Block op name -> what it builds.
FBNET_OPS: dict[str, FBNetOp] = _ops()


def build_fbnet_block(op: str, in_channels: int, out_channels: int, expansion: float,
                      stride: int, width_divisor: int = 1,
                      norm_cfg: Optional[dict] = dict(type='BN'), dw_skip_bn: bool = False,
                      dw_skip_relu: bool = False) -> nn.Module:
    """The block that op name ``op`` of :data:`FBNET_OPS` makes for one arch row.

    Returns:
        An ``IRFBlock`` or ``FBNetSkip``; both have ``out_channels``.

    Raises:
        KeyError: an unknown op (the message lists the known ones).
    """
    if op not in FBNET_OPS:
        raise KeyError(f'FBNet: unknown block op {op!r}; choose one of {sorted(FBNET_OPS)}')
    spec = FBNET_OPS[op]
    if spec.skip:
        return FBNetSkip(in_channels, out_channels, stride, norm_cfg=norm_cfg)
    return IRFBlock(in_channels, out_channels,
                    expansion if spec.expansion is None else spec.expansion, stride,
                    kernel=spec.kernel, groups=spec.groups, shuffle=spec.groups > 1,
                    se=spec.se, cdw=spec.cdw, width_divisor=width_divisor, norm_cfg=norm_cfg,
                    dw_skip_bn=dw_skip_bn, dw_skip_relu=dw_skip_relu)
