"""Building blocks of BiSeNetV2 (Yu et al., "BiSeNet V2: Bilateral Network with Guided
Aggregation for Real-time Semantic Segmentation", IJCV 2021): the detail branch, the semantic
branch's stem, gather-and-expansion and context-embedding blocks, and the bilateral guided
aggregation. Attribute names are mmsegmentation 1.x's, so its checkpoints load unchanged.

The aggregation's maths are the pure function :func:`guided_aggregation`.
"""
from typing import List, Optional, Sequence

import torch
from mmcv.cnn import (ConvModule, DepthwiseSeparableConvModule, build_activation_layer,
                      build_norm_layer)
from mmengine.model import BaseModule
from torch import Tensor, nn

from segdet.models.utils import resize

DEFAULT_NORM = dict(type='BN')
DEFAULT_ACT = dict(type='ReLU')


def guided_aggregation(detail: Tensor, detail_down: Tensor, semantic: Tensor,
                       semantic_dw: Tensor, align_corners: bool = False) -> Tensor:
    """Fuse the two branches, each gated by the other at its own resolution.

    ``detail * sigmoid(up(semantic)) + up(detail_down * sigmoid(semantic_dw))``, where ``up``
    is a bilinear resize to the detail size.

    Args:
        detail: (N, C, H, W) detail features (stride 8).
        detail_down: (N, C, h, w) detail features brought to the semantic size (stride 32).
        semantic: (N, C, h, w) semantic features that gate ``detail``.
        semantic_dw: (N, C, h, w) semantic features that gate ``detail_down``.
        align_corners: ``align_corners`` of both resizes.

    Returns:
        (N, C, H, W) fused features.
    """
    size = detail.shape[2:]
    high = detail * torch.sigmoid(
        resize(semantic, size=size, mode='bilinear', align_corners=align_corners))
    low = resize(detail_down * torch.sigmoid(semantic_dw), size=size, mode='bilinear',
                 align_corners=align_corners)
    return high + low


def _conv(in_channels: int, out_channels: int, stride: int = 1, *, kernel_size: int = 3,
          groups: int = 1, bias: object = 'auto', conv_cfg: Optional[dict] = None,
          norm_cfg: Optional[dict] = DEFAULT_NORM,
          act_cfg: Optional[dict] = DEFAULT_ACT) -> ConvModule:
    """A ConvModule with 'same' padding (conv, norm, activation)."""
    return ConvModule(in_channels, out_channels, kernel_size, stride=stride,
                      padding=kernel_size // 2, groups=groups, bias=bias, conv_cfg=conv_cfg,
                      norm_cfg=norm_cfg, act_cfg=act_cfg)


class DetailBranch(BaseModule):
    """Wide, shallow convolutions at high resolution: one stage per entry of
    ``detail_channels``, each a stride-2 3x3 conv followed by one (first stage) or two
    stride-1 3x3 convs (``detail_branch.{i}.{j}``).

    Input (N, in_channels, H, W); output (N, detail_channels[-1], H / 2^k, W / 2^k) for k
    stages (stride 8 with mmseg's 3).
    """

    def __init__(self, detail_channels: Sequence[int] = (64, 64, 128), in_channels: int = 3,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        stages = []
        for i, channels in enumerate(detail_channels):
            layers = [_conv(in_channels if i == 0 else detail_channels[i - 1], channels, 2,
                            **cfgs)]
            layers += [_conv(channels, channels, **cfgs) for _ in range(1 if i == 0 else 2)]
            stages.append(nn.Sequential(*layers))
        self.detail_branch = nn.ModuleList(stages)

    def forward(self, x: Tensor) -> Tensor:
        for stage in self.detail_branch:
            x = stage(x)
        return x


class StemBlock(BaseModule):
    """First stage of the semantic branch, stride 4: a stride-2 conv (``conv_first``), then a
    conv path (1x1 to half width, stride-2 3x3: ``convs``) and a max-pool path (``pool``),
    concatenated and fused by a 3x3 conv (``fuse_last``).

    Input (N, in_channels, H, W); output (N, out_channels, H / 4, W / 4).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 16,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_first = _conv(in_channels, out_channels, 2, **cfgs)
        self.convs = nn.Sequential(
            _conv(out_channels, out_channels // 2, kernel_size=1, **cfgs),
            _conv(out_channels // 2, out_channels, 2, **cfgs))
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=False)
        self.fuse_last = _conv(out_channels * 2, out_channels, **cfgs)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv_first(x)
        return self.fuse_last(torch.cat([self.convs(x), self.pool(x)], dim=1))


class GELayer(BaseModule):
    """Gather-and-expansion layer: a 3x3 conv (``conv1``), a depthwise 3x3 expansion to
    ``in_channels * exp_ratio`` channels (``dwconv``; with stride 2, a second depthwise conv
    follows the strided one), a 1x1 projection without activation (``conv2``), the shortcut
    (identity; with stride 2, a depthwise-separable stride-2 conv without activations:
    ``shortcut``) added, and the activation.

    Input (N, in_channels, H, W); output (N, out_channels, H / stride, W / stride). With
    stride 1, ``in_channels`` must equal ``out_channels`` (identity shortcut).
    """

    def __init__(self, in_channels: int, out_channels: int, exp_ratio: int = 6,
                 stride: int = 1, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = DEFAULT_NORM, act_cfg: Optional[dict] = DEFAULT_ACT,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'GELayer: stride must be 1 or 2, got {stride}')
        if stride == 1 and in_channels != out_channels:
            raise ValueError(f'GELayer: stride 1 (identity shortcut) needs in_channels == '
                             f'out_channels, got {in_channels} and {out_channels}')
        mid_channels = in_channels * exp_ratio
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.conv1 = _conv(in_channels, in_channels, act_cfg=act_cfg, **cfgs)
        self.shortcut: Optional[nn.Sequential]
        if stride == 1:
            self.dwconv = nn.Sequential(
                _conv(in_channels, mid_channels, groups=in_channels, act_cfg=act_cfg, **cfgs))
            self.shortcut = None
        else:
            self.dwconv = nn.Sequential(
                _conv(in_channels, mid_channels, 2, groups=in_channels, bias=False,
                      act_cfg=None, **cfgs),
                _conv(mid_channels, mid_channels, groups=mid_channels, act_cfg=act_cfg,
                      **cfgs))
            self.shortcut = nn.Sequential(DepthwiseSeparableConvModule(
                in_channels, out_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg,
                dw_norm_cfg=norm_cfg, dw_act_cfg=None, pw_norm_cfg=norm_cfg, pw_act_cfg=None))
        self.conv2 = nn.Sequential(
            _conv(mid_channels, out_channels, kernel_size=1, bias=False, act_cfg=None, **cfgs))
        self.act = build_activation_layer(act_cfg)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2(self.dwconv(self.conv1(x)))
        return self.act(out + (x if self.shortcut is None else self.shortcut(x)))


class CEBlock(BaseModule):
    """Context embedding: global average pooling and a norm (``gap``), a 1x1 conv
    (``conv_gap``), broadcast-added to the input, then a 3x3 conv (``conv_last``).

    Input (N, in_channels, H, W); output (N, out_channels, H, W). ``in_channels`` must equal
    ``out_channels`` (the pooled context is added to the input).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 16,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels != out_channels:
            raise ValueError(f'CEBlock: in_channels must equal out_channels (the context is '
                             f'added to the input), got {in_channels} and {out_channels}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.gap = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)),
                                 build_norm_layer(norm_cfg, in_channels)[1])
        self.conv_gap = _conv(in_channels, out_channels, kernel_size=1, **cfgs)
        self.conv_last = _conv(out_channels, out_channels, **cfgs)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_last(x + self.conv_gap(self.gap(x)))


class SemanticBranch(BaseModule):
    """Narrow, deep branch: ``stage1`` is a :class:`StemBlock` (stride 4); each further stage
    is a stride-2 :class:`GELayer` and one (middle stages) or three (last stage) stride-1 ones;
    ``stage{k}_CEBlock`` (a :class:`CEBlock`) ends the branch.

    Input (N, in_channels, H, W). Output: a list of k + 1 maps, stage i (1-based) at stride
    2^(i + 1) with ``semantic_channels[i - 1]`` channels, then the context-embedding output at
    the last stage's size and width.
    """

    def __init__(self, semantic_channels: Sequence[int] = (16, 32, 64, 128),
                 in_channels: int = 3, exp_ratio: int = 6, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = DEFAULT_NORM, act_cfg: Optional[dict] = DEFAULT_ACT,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.semantic_channels = tuple(semantic_channels)
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.semantic_stages: List[str] = []
        last = len(semantic_channels) - 1
        for i, channels in enumerate(semantic_channels):
            name = f'stage{i + 1}'
            if i == 0:
                stage: nn.Module = StemBlock(in_channels, channels, **cfgs)
            else:
                layers = [GELayer(semantic_channels[i - 1], channels, exp_ratio, 2, **cfgs)]
                layers += [GELayer(channels, channels, exp_ratio, 1, **cfgs)
                           for _ in range(3 if i == last else 1)]
                stage = nn.Sequential(*layers)
            self.add_module(name, stage)
            self.semantic_stages.append(name)
        name = f'stage{len(semantic_channels)}_CEBlock'
        self.add_module(name, CEBlock(semantic_channels[-1], semantic_channels[-1], **cfgs))
        self.semantic_stages.append(name)

    def forward(self, x: Tensor) -> List[Tensor]:
        outs = []
        for name in self.semantic_stages:
            x = getattr(self, name)(x)
            outs.append(x)
        return outs


class BGALayer(BaseModule):
    """Bilateral guided aggregation of the detail (stride 8) and semantic (stride 32) maps.

    Detail side: a depthwise-separable 3x3 conv (norm on the depthwise part only:
    ``detail_dwconv``) and a stride-2 3x3 conv with norm plus a stride-2 average pool
    (``detail_down``). Semantic side: a 3x3 conv with norm (``semantic_conv``) and a
    depthwise-separable 3x3 conv (``semantic_dwconv``). :func:`guided_aggregation` fuses
    them; a 3x3 conv (``conv``) follows.

    Inputs (N, C, H, W) and (N, C, H / 4, W / 4) with C = ``out_channels``; output
    (N, C, H, W).
    """

    def __init__(self, out_channels: int = 128, align_corners: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = DEFAULT_NORM,
                 act_cfg: Optional[dict] = DEFAULT_ACT, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.out_channels = out_channels
        self.align_corners = align_corners
        c = out_channels

        def separable() -> nn.Sequential:
            return nn.Sequential(DepthwiseSeparableConvModule(
                c, c, 3, padding=1, conv_cfg=conv_cfg, dw_norm_cfg=norm_cfg, dw_act_cfg=None,
                pw_norm_cfg=None, pw_act_cfg=None))

        self.detail_dwconv = separable()
        self.detail_down = nn.Sequential(
            _conv(c, c, 2, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None),
            nn.AvgPool2d(kernel_size=3, stride=2, padding=1, ceil_mode=False))
        self.semantic_conv = nn.Sequential(
            _conv(c, c, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None))
        self.semantic_dwconv = separable()
        self.conv = _conv(c, c, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x_d: Tensor, x_s: Tensor) -> Tensor:
        """Args: x_d, (N, C, H, W) detail map; x_s, (N, C, h, w) semantic map.
        Returns: (N, C, H, W)."""
        fused = guided_aggregation(self.detail_dwconv(x_d), self.detail_down(x_d),
                                   self.semantic_conv(x_s), self.semantic_dwconv(x_s),
                                   self.align_corners)
        return self.conv(fused)
