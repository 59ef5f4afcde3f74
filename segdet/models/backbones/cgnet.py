"""CGNet backbone (Wu et al., "CGNet: A Light-weight Context Guided Network for Semantic
Segmentation", arXiv:1811.08201).

Constructor and state-dict names follow mmsegmentation 1.x, so ``cgnet_fcn_*`` configs and
checkpoints work unchanged.
"""
from typing import Any, List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int, check_int_sequence
from .cgnet_modules import ContextGuidedBlock, InputInjection, prelu_act_cfg
from .resnet import resnet_init_cfg

#: argument -> number of entries (stem + 2 stages; the 2 stages of context-guided blocks).
_LENGTHS = {'num_channels': 3, 'num_blocks': 2, 'dilations': 2, 'reductions': 2}


def check_cgnet_args(**values: Any) -> None:
    """Check CGNet's per-stage arguments: lists/tuples of ints >= 1 of the right length.

    Args:
        **values: ``num_channels``, ``num_blocks``, ``dilations``, ``reductions``.

    Raises:
        TypeError: Not a list/tuple of ints.
        ValueError: Wrong number of entries, or an entry below 1.
    """
    for name, value in values.items():
        check_int_sequence(value, f'CGNet: {name}', 1)
        if len(value) != _LENGTHS[name]:
            raise ValueError(f'CGNet: {name}={tuple(value)} must have {_LENGTHS[name]} entries '
                             f'(got {len(value)})')


def _norm_prelu(norm_cfg: dict, channels: int) -> nn.Sequential:
    """Norm then a per-channel PReLU (``norm_prelu_*.0`` / ``.1`` in the checkpoints)."""
    return nn.Sequential(build_norm_layer(norm_cfg, channels)[1], nn.PReLU(channels))


@MODELS.register_module()
class CGNet(BaseModule):
    """Context-guided network: a stride-2 stem and two stages of context-guided blocks.

    With C = ``num_channels`` and an (N, in_channels, H, W) float input, the output is a tuple
    of three float tensors:

    * stage 0, stride 2: the stem (three 3x3 ConvModules, the first with stride 2) concatenated
      with the image average-pooled once: (N, C[0] + in_channels, H/2, W/2);
    * stage 1, stride 4: ``num_blocks[0]`` blocks (the first downsamples), concatenated as
      [last block, first block, image pooled twice]: (N, 2 * C[1] + in_channels, H/4, W/4);
    * stage 2, stride 8: ``num_blocks[1]`` blocks, concatenated as [first block, last block]:
      (N, 2 * C[2], H/8, W/8).

    Each concatenation is followed by a norm and a PReLU (``norm_prelu_0/1/2``). Sizes round
    up (a stride-2 step maps H to floor((H - 1) / 2) + 1).

    Args:
        in_channels: Image channels.
        num_channels: Widths of the stem, stage 1 and stage 2 (3 entries).
        num_blocks: Context-guided blocks of stages 1 and 2 (2 entries, each >= 1).
        dilations: Dilation of the surrounding-context convs of stages 1 and 2.
        reductions: Reductions of the global context extractors of stages 1 and 2
            (each <= the stage's width).
        conv_cfg: Conv config (None: Conv2d).
        norm_cfg: Norm config.
        act_cfg: Activation of the stem and of each block's first conv; a PReLU gets one slope
            per channel (``num_parameters`` is set per layer on a copy).
        norm_eval: Keep BatchNorm layers in eval mode during training.
        with_cp: Gradient checkpointing inside the blocks.
        pretrained: Deprecated alias of ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: mmengine init config; by default Kaiming for convs and linear layers, norm
            weights 1 and PReLU slopes 0 (as mmseg).
    """

    def __init__(self,
                 in_channels: int = 3,
                 num_channels: Tuple[int, int, int] = (32, 64, 128),
                 num_blocks: Tuple[int, int] = (3, 21),
                 dilations: Tuple[int, int] = (2, 4),
                 reductions: Tuple[int, int] = (8, 16),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='PReLU'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[Any] = None) -> None:
        resolved_init_cfg, is_default = resnet_init_cfg(pretrained, init_cfg)
        if is_default:
            resolved_init_cfg = [
                dict(type='Kaiming', layer=['Conv2d', 'Linear']),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
                dict(type='Constant', val=0, layer='PReLU')]
        super().__init__(resolved_init_cfg)
        check_int(in_channels, 'CGNet: in_channels', 1)
        check_cgnet_args(num_channels=num_channels, num_blocks=num_blocks, dilations=dilations,
                         reductions=reductions)
        for stage in (0, 1):
            width = num_channels[stage + 1]
            if reductions[stage] > width:
                raise ValueError(f'CGNet: reductions={tuple(reductions)}: entry {stage} '
                                 f'({reductions[stage]}) must be <= num_channels[{stage + 1}]='
                                 f'{width}')
        self.pretrained = pretrained
        self.in_channels = in_channels
        self.num_channels = num_channels
        self.num_blocks = num_blocks
        self.dilations = dilations
        self.reductions = reductions
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        stem_act = prelu_act_cfg(act_cfg, num_channels[0])
        self.stem = nn.ModuleList(
            ConvModule(in_channels if i == 0 else num_channels[0], num_channels[0], 3,
                       stride=2 if i == 0 else 1, padding=1, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg, act_cfg=stem_act)
            for i in range(3))
        self.inject_2x = InputInjection(1)
        self.inject_4x = InputInjection(2)
        cur_channels = num_channels[0] + in_channels
        self.norm_prelu_0 = _norm_prelu(norm_cfg, cur_channels)

        self.level1 = self._make_stage(cur_channels, 0)
        cur_channels = 2 * num_channels[1] + in_channels
        self.norm_prelu_1 = _norm_prelu(norm_cfg, cur_channels)

        self.level2 = self._make_stage(cur_channels, 1)
        self.norm_prelu_2 = _norm_prelu(norm_cfg, 2 * num_channels[2])

    def _make_stage(self, in_channels: int, stage: int) -> nn.ModuleList:
        """``num_blocks[stage]`` blocks of width ``num_channels[stage + 1]``; the first
        downsamples."""
        width = self.num_channels[stage + 1]
        return nn.ModuleList(
            ContextGuidedBlock(
                in_channels if i == 0 else width, width, self.dilations[stage],
                self.reductions[stage], downsample=i == 0, conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, with_cp=self.with_cp)
            for i in range(self.num_blocks[stage]))

    @staticmethod
    def _run_stage(blocks: nn.ModuleList, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Returns (output of the first block, output of the last block)."""
        first = x = blocks[0](x)
        for block in blocks[1:]:
            x = block(x)
        return first, x

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Extract the three stage outputs.

        Args:
            x: (N, in_channels, H, W) float tensor.

        Returns:
            Tuple of (N, C[0] + in_channels, H/2, W/2), (N, 2 * C[1] + in_channels, H/4, W/4)
            and (N, 2 * C[2], H/8, W/8) float tensors.
        """
        inp_2x = self.inject_2x(x)
        inp_4x = self.inject_4x(x)
        for layer in self.stem:
            x = layer(x)
        x = self.norm_prelu_0(torch.cat([x, inp_2x], dim=1))
        outs: List[Tensor] = [x]

        down1, x = self._run_stage(self.level1, x)
        x = self.norm_prelu_1(torch.cat([x, down1, inp_4x], dim=1))
        outs.append(x)

        down2, x = self._run_stage(self.level2, x)
        outs.append(self.norm_prelu_2(torch.cat([down2, x], dim=1)))
        return tuple(outs)

    def train(self, mode: bool = True) -> 'CGNet':
        """Set train/eval mode, keeping BatchNorm in eval with ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
