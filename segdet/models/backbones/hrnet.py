"""HRNet backbone (Wang et al., "Deep High-Resolution Representation Learning", HRNetV2).

Constructor and state-dict names follow mmsegmentation 1.x, so ``ocrnet_hr18`` /
``ocrnet_hr48`` configs and checkpoints work unchanged.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Type

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule, Sequential
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.utils.res_layer import ResLayer
from segdet.registry import MODELS
from .hrnet_modules import HRModule, MultiConfig, build_transition
from .resnet import resnet_init_cfg, set_frozen
from .resnet_blocks import BasicBlock, Bottleneck

STAGE_KEYS = ('num_modules', 'num_branches', 'block', 'num_blocks', 'num_channels')


def check_hrnet_extra(extra: dict, blocks: Dict[str, Type[nn.Module]]) -> None:
    """Validate HRNet's ``extra`` dict, naming the offending key.

    Args:
        extra: ``dict(stage1=..., ..., stage4=...)``, each stage with the keys
            ``num_modules, num_branches, block, num_blocks, num_channels``.
        blocks: Valid block names.
    """
    for s in range(1, 5):
        key = f'stage{s}'
        if key not in extra:
            raise KeyError(f'HRNet extra: missing {key!r} (need stage1..stage4)')
        cfg = extra[key]
        missing = [k for k in STAGE_KEYS if k not in cfg]
        if missing:
            raise KeyError(f'HRNet extra.{key}: missing keys {missing}')
        if cfg['block'] not in blocks:  # a name that picks the class to build, as depth
            raise KeyError(f'HRNet extra.{key}.block={cfg["block"]!r}, '
                           f'choose from {sorted(blocks)}')
        n = cfg['num_branches']
        if len(cfg['num_blocks']) != n or len(cfg['num_channels']) != n:
            raise ValueError(f'HRNet extra.{key}: num_blocks={tuple(cfg["num_blocks"])} and '
                             f'num_channels={tuple(cfg["num_channels"])} need num_branches={n} '
                             'entries')


@MODELS.register_module()
class HRNet(BaseModule):
    """High-resolution network: a stride-4 stem, then stages of parallel multi-res branches.

    Input (N, in_channels, H, W) float. Output: a list with one float tensor per branch of
    stage 4, branch i of shape (N, C_i * expansion, H / 2**(i+2), W / 2**(i+2)), e.g. W18:
    channels (18, 36, 72, 144) at strides (4, 8, 16, 32); only branch 0 when
    ``multiscale_output`` is False.

    Args:
        extra: Per-stage settings ``stage1`` .. ``stage4``, each a dict with ``num_modules``,
            ``num_branches``, ``block`` (``'BASIC'``/``'BOTTLENECK'``), ``num_blocks`` and
            ``num_channels`` (tuples of length ``num_branches``).
        in_channels: Input image channels.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        norm_eval: Keep BatchNorm layers in eval mode during training.
        with_cp: Gradient checkpointing inside blocks.
        frozen_stages: Freeze the stem (0) and stages 1..k with their outgoing transitions.
        zero_init_residual: With the default init, zero the last norm of every block.
        multiscale_output: Return all stage-4 branches (True) or only the highest resolution.
        upsample_mode: Fusion upsampling, ``'bilinear'`` (mmseg) or ``'nearest'`` (mmdet).
        pretrained: Deprecated alias of ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: mmengine init config.
    """

    blocks_dict: Dict[str, Type[nn.Module]] = {'BASIC': BasicBlock, 'BOTTLENECK': Bottleneck}
    stem_channels = 64

    def __init__(self,
                 extra: dict,
                 in_channels: int = 3,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 frozen_stages: int = -1,
                 zero_init_residual: bool = False,
                 multiscale_output: bool = True,
                 upsample_mode: str = 'bilinear',
                 pretrained: Optional[str] = None,
                 init_cfg: MultiConfig = None) -> None:
        resolved_init_cfg, default_init = resnet_init_cfg(pretrained, init_cfg)
        super().__init__(resolved_init_cfg)
        check_hrnet_extra(extra, self.blocks_dict)
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'HRNet: frozen_stages must be in [-1, 4], got {frozen_stages}')
        self.pretrained = pretrained
        self.extra = extra
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.frozen_stages = frozen_stages
        self.zero_init_residual = zero_init_residual
        self.upsample_mode = upsample_mode
        self._zero_init = default_init and zero_init_residual

        # Stem: two stride-2 3x3 convs (stride 4).
        c = self.stem_channels
        self.conv1 = build_conv_layer(conv_cfg, in_channels, c, 3, stride=2, padding=1,
                                      bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, c, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, c, c, 3, stride=2, padding=1, bias=False)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, c, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        self.stage1_cfg = extra['stage1']
        block = self.blocks_dict[self.stage1_cfg['block']]
        planes = self.stage1_cfg['num_channels'][0]
        self.layer1 = ResLayer(block, c, planes, self.stage1_cfg['num_blocks'][0],
                               conv_cfg=conv_cfg, norm_cfg=norm_cfg, with_cp=with_cp,
                               block_init_cfg=self._block_init_cfg(block))
        pre_channels = [planes * block.expansion]

        for s in (2, 3, 4):
            stage_cfg = extra[f'stage{s}']
            setattr(self, f'stage{s}_cfg', stage_cfg)
            expansion = self.blocks_dict[stage_cfg['block']].expansion
            cur_channels = [ch * expansion for ch in stage_cfg['num_channels']]
            self.add_module(f'transition{s - 1}',
                            build_transition(pre_channels, cur_channels, conv_cfg, norm_cfg))
            stage, pre_channels = self._make_stage(
                stage_cfg, cur_channels, multiscale_output=multiscale_output or s < 4)
            self.add_module(f'stage{s}', stage)
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        """Norm after the first stem conv."""
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        """Norm after the second stem conv."""
        return getattr(self, self.norm2_name)

    def _block_init_cfg(self, block: Type[nn.Module]) -> Optional[dict]:
        if not self._zero_init:
            return None
        return dict(type='Constant', val=0, override=dict(name=block.zero_init_norm))

    def _make_stage(self, stage_cfg: dict, in_channels: Sequence[int],
                    multiscale_output: bool = True) -> Tuple[Sequential, List[int]]:
        """Stack ``num_modules`` HRModules; only the last may drop the low-res outputs."""
        block = self.blocks_dict[stage_cfg['block']]
        num_modules = stage_cfg['num_modules']
        modules = []
        channels = list(in_channels)
        for m in range(num_modules):
            module = HRModule(
                stage_cfg['num_branches'], block, stage_cfg['num_blocks'], channels,
                stage_cfg['num_channels'],
                multiscale_output=multiscale_output or m < num_modules - 1,
                with_cp=self.with_cp, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                block_init_cfg=self._block_init_cfg(block), upsample_mode=self.upsample_mode)
            channels = module.in_channels
            modules.append(module)
        return Sequential(*modules), channels

    def _freeze_stages(self) -> None:
        # As mmseg: stage k (k < 4) is frozen together with the transition that follows it.
        if self.frozen_stages >= 0:
            for m in (self.conv1, self.norm1, self.conv2, self.norm2):
                set_frozen(m)
        for k in range(1, self.frozen_stages + 1):
            set_frozen(self.layer1 if k == 1 else getattr(self, f'stage{k}'))
            set_frozen(getattr(self, f'transition{min(k, 3)}'))

    @staticmethod
    def _apply_transition(transition: nn.ModuleList, feats: List[Tensor]) -> List[Tensor]:
        """Existing branches pass through (or adapt width); new ones come from the last."""
        out = []
        for i, t in enumerate(transition):
            src = feats[i] if i < len(feats) else feats[-1]
            out.append(src if t is None else t(src))
        return out

    def forward(self, x: Tensor) -> List[Tensor]:
        """Extract multi-resolution features.

        Args:
            x: (N, in_channels, H, W) float tensor.

        Returns:
            List of float tensors, branch i of shape (N, C_i, H / 2**(i+2), W / 2**(i+2)).
        """
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        feats = [self.layer1(x)]
        for s in (2, 3, 4):
            feats = self._apply_transition(getattr(self, f'transition{s - 1}'), feats)
            feats = getattr(self, f'stage{s}')(feats)
        return feats

    def train(self, mode: bool = True) -> 'HRNet':
        """Set train/eval mode, keeping frozen stages and (with ``norm_eval``) BN in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
