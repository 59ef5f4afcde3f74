"""MobileNetV2 backbone (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", 2018).

Registered name, arguments, defaults and parameter names follow mmsegmentation 1.x, so its
``mobilenet-v2-d8_*`` configs, its checkpoints and the ``mmcls://mobilenet_v2`` ImageNet weights
load unchanged. The "D8" setting of those configs keeps output stride 8 by replacing the strides
of stages 3 and 5 with dilations: ``strides=(1, 2, 2, 1, 1, 1, 1)``,
``dilations=(1, 1, 1, 2, 2, 4, 4)``.
"""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.utils import InvertedResidual, make_divisible
from segdet.registry import MODELS
from .resnet import MultiConfig, resnet_init_cfg, set_frozen

#: Per stage: (expand_ratio, channels at widen_factor 1, number of blocks).
MOBILENET_V2_STAGES: Tuple[Tuple[int, int, int], ...] = (
    (1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1))
STEM_CHANNELS = 32


def mobilenet_v2_channels(widen_factor: float) -> Tuple[int, List[int]]:
    """Stem and stage widths at ``widen_factor``: each base width times the factor, rounded by
    :func:`make_divisible` to a multiple of 8 (at least 8, at most 10 % below the product).

    Returns:
        ``(stem_channels, [stage channels x 7])``, e.g. ``(32, [16, 24, 32, 64, 96, 160, 320])``
        at 1.0 and ``(16, [8, 16, 16, 32, 48, 80, 160])`` at 0.5.
    """
    return (make_divisible(STEM_CHANNELS * widen_factor, 8),
            [make_divisible(c * widen_factor, 8) for _, c, _ in MOBILENET_V2_STAGES])


@MODELS.register_module()
class MobileNetV2(BaseModule):
    """A stride-2 3x3 stem conv (``conv1``) and seven stages ``layer1`` .. ``layer7`` of
    inverted residual blocks.

    Input (N, 3, H, W) float. Output: a tuple with one (N, C_i, H / s_i, W / s_i) float tensor
    per entry i of ``out_indices`` (0-based stage indices), with ``C_i`` the stage's width from
    :func:`mobilenet_v2_channels` and ``s_i = 2 * prod(strides[:i + 1])`` (sizes rounded up).
    The D8 configs' ``out_indices=(1, 2, 4, 6)`` give channels (24, 32, 96, 320) at strides
    (4, 8, 8, 8).

    Args:
        widen_factor: Width multiplier of every layer (> 0); widths are rounded to multiples
            of 8, never below 8.
        strides: Stride of the first block of each of the 7 stages (1 or 2).
        dilations: Dilation of the first block of each of the 7 stages.
        out_indices: Stages (0-6) whose outputs are returned, in order.
        frozen_stages: Freeze the stem (0) and stages 1..k (k); -1 freezes nothing.
        conv_cfg: Conv config; None for ``nn.Conv2d``.
        norm_cfg: Norm config.
        act_cfg: Activation config (ReLU6).
        norm_eval: Keep every BatchNorm in eval mode (frozen running stats) in training.
        with_cp: Gradient checkpointing inside blocks.
        pretrained: Deprecated alias of ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: mmengine init config; None: Kaiming convs, norm weights 1.
    """

    arch_settings = [list(s) for s in MOBILENET_V2_STAGES]

    def __init__(self,
                 widen_factor: float = 1.,
                 strides: Sequence[int] = (1, 2, 2, 2, 1, 2, 1),
                 dilations: Sequence[int] = (1, 1, 1, 1, 1, 1, 1),
                 out_indices: Sequence[int] = (1, 2, 4, 6),
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: MultiConfig = None) -> None:
        resolved_init_cfg, _ = resnet_init_cfg(pretrained, init_cfg)
        super().__init__(resolved_init_cfg)
        self._check_args(widen_factor, strides, dilations, out_indices, frozen_stages)
        self.pretrained = pretrained
        self.widen_factor = widen_factor
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        stem_channels, stage_channels = mobilenet_v2_channels(widen_factor)
        self.conv1 = ConvModule(3, stem_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.in_channels = stem_channels
        self.layers: List[str] = []
        for i, ((expand_ratio, _, num_blocks), out_channels) in enumerate(
                zip(MOBILENET_V2_STAGES, stage_channels)):
            layer = self.make_layer(out_channels, num_blocks, self.strides[i],
                                    self.dilations[i], expand_ratio)
            name = f'layer{i + 1}'
            self.add_module(name, layer)
            self.layers.append(name)
        self.out_channels = tuple(stage_channels[i] for i in self.out_indices)
        self._freeze_stages()

    @staticmethod
    def _check_args(widen_factor: float, strides: Sequence[int], dilations: Sequence[int],
                    out_indices: Sequence[int], frozen_stages: int) -> None:
        num = len(MOBILENET_V2_STAGES)
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, (int, float)):
            raise TypeError(f'MobileNetV2: widen_factor must be a number > 0, got '
                            f'{type(widen_factor).__name__} {widen_factor!r}')
        if not widen_factor > 0:
            raise ValueError(f'MobileNetV2: widen_factor={widen_factor} must be > 0 (every '
                             'width is the base width times it, rounded to a multiple of 8)')
        for name, value in (('strides', strides), ('dilations', dilations),
                            ('out_indices', out_indices)):
            if not isinstance(value, (list, tuple)):
                raise TypeError(f'MobileNetV2: {name} must be a list/tuple of ints, got '
                                f'{type(value).__name__} {value!r}')
        if len(strides) != num or len(dilations) != num:
            raise ValueError(f'MobileNetV2: strides={tuple(strides)} and dilations='
                             f'{tuple(dilations)} must both have one entry per stage ({num})')
        bad = [s for s in strides if s not in (1, 2)]
        if bad:
            raise ValueError(f'MobileNetV2: strides={tuple(strides)} has {bad}; '
                             'each stride must be 1 or 2')
        bad = [d for d in dilations if not (isinstance(d, int) and d >= 1)]
        if bad:
            raise ValueError(f'MobileNetV2: dilations={tuple(dilations)} has {bad}; '
                             'each dilation must be an int >= 1')
        bad = [i for i in out_indices if i not in range(num)]
        if not out_indices or bad:
            raise ValueError(f'MobileNetV2: out_indices={tuple(out_indices)} has {bad or "none"}; '
                             f'choose one or more stage indices in [0, {num - 1}]')
        if frozen_stages not in range(-1, num + 1):
            raise ValueError(f'MobileNetV2: frozen_stages={frozen_stages} must be in '
                             f'[-1, {num}] (-1: none, 0: the stem, k: the stem and stages '
                             '1..k)')

    def make_layer(self, out_channels: int, num_blocks: int, stride: int, dilation: int,
                   expand_ratio: int) -> nn.Sequential:
        """One stage: ``num_blocks`` inverted residuals; only the first has ``stride`` and
        ``dilation`` (the others stride 1, dilation 1, as mmseg).

        Args:
            out_channels: Width of every block's output.
            num_blocks: Number of blocks.
            stride: Stride of the first block.
            dilation: Dilation of the first block.
            expand_ratio: Hidden-width ratio of every block.

        Returns:
            The stage; ``self.in_channels`` is left at ``out_channels``.
        """
        blocks = []
        for i in range(num_blocks):
            blocks.append(InvertedResidual(
                self.in_channels, out_channels, stride if i == 0 else 1,
                expand_ratio=expand_ratio, dilation=dilation if i == 0 else 1,
                conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
                with_cp=self.with_cp))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Extract features.

        Args:
            x: (N, 3, H, W) float tensor.

        Returns:
            Tuple of (N, C_i, H_i, W_i) float tensors, one per ``out_indices`` entry (also for a
            single entry, where mmseg returns the bare tensor).
        """
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            set_frozen(self.conv1)
        for i in range(1, self.frozen_stages + 1):
            set_frozen(getattr(self, f'layer{i}'))

    def train(self, mode: bool = True) -> 'MobileNetV2':
        """Set train/eval mode, keeping frozen stages and (with ``norm_eval``) BN in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
