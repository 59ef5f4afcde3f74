"""Building blocks of HRNet: the multi-resolution module and the transitions between stages.

Names follow mmsegmentation 1.x (``branches.k.b``, ``fuse_layers.i.j.*``,
``transitionK.i.*``) so that its HRNet checkpoints load unchanged.
"""
from typing import List, Optional, Sequence, Type, Union

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule, ModuleList
from torch import Tensor

from segdet.models.utils.res_layer import ResLayer

MultiConfig = Union[dict, List[dict], None]


def upsample_to(x: Tensor, scale: int, size: Sequence[int], mode: str = 'bilinear') -> Tensor:
    """Upsample a lower-resolution branch for fusion into a higher one.

    First scales by the nominal factor ``scale`` (``2 ** (j - i)``), then, if the input size
    was not an exact multiple, resizes to ``size``. This two-step order reproduces mmseg's
    HRNet outputs exactly on odd sizes too.

    Args:
        x: (N, C, h, w) float tensor.
        scale: Integer upsampling factor.
        size: Target (H, W).
        mode: ``'bilinear'`` (mmseg, ``align_corners=False``) or ``'nearest'`` (mmdet).

    Returns:
        (N, C, H, W) float tensor.
    """
    align = False if mode in ('bilinear', 'bicubic') else None
    scaled = [int(s * scale) for s in x.shape[2:]]
    x = F.interpolate(x, size=scaled, mode=mode, align_corners=align)
    if list(x.shape[2:]) != [int(s) for s in size]:
        x = F.interpolate(x, size=tuple(size), mode=mode, align_corners=align)
    return x


def conv_norm(conv_cfg: Optional[dict], norm_cfg: dict, in_channels: int, out_channels: int,
              kernel_size: int, stride: int = 1, relu: bool = False,
              inplace: bool = True) -> nn.Sequential:
    """``Sequential(conv, norm[, ReLU])`` with indices 0, 1, 2 (the checkpoint layout)."""
    layers = [
        build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=kernel_size,
                         stride=stride, padding=(kernel_size - 1) // 2, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1],
    ]
    if relu:
        layers.append(nn.ReLU(inplace=inplace))
    return nn.Sequential(*layers)


def build_transition(pre_channels: Sequence[int], cur_channels: Sequence[int],
                     conv_cfg: Optional[dict], norm_cfg: dict) -> nn.ModuleList:
    """Map the branches of one stage to the (one more) branches of the next.

    Existing branch i keeps its resolution: ``None`` (identity) when the width is unchanged,
    else 3x3 conv-norm-ReLU. A new branch i is made from the lowest-resolution branch by
    ``i + 1 - len(pre_channels)`` stride-2 3x3 conv-norm-ReLUs.

    Args:
        pre_channels: Channels of the previous stage's branches.
        cur_channels: Channels of the next stage's branches.
        conv_cfg: Conv config.
        norm_cfg: Norm config.

    Returns:
        ``nn.ModuleList`` of length ``len(cur_channels)`` with ``None`` for identities.
    """
    num_pre = len(pre_channels)
    layers: List[Optional[nn.Module]] = []
    for i, cur in enumerate(cur_channels):
        if i < num_pre:
            layers.append(None if cur == pre_channels[i] else conv_norm(
                conv_cfg, norm_cfg, pre_channels[i], cur, 3, relu=True))
            continue
        steps = []
        num_steps = i + 1 - num_pre
        for k in range(num_steps):
            out = cur if k == num_steps - 1 else pre_channels[-1]
            steps.append(conv_norm(conv_cfg, norm_cfg, pre_channels[-1], out, 3, stride=2,
                                   relu=True))
        layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class HRModule(BaseModule):
    """Parallel branches of residual blocks followed by all-to-all multi-resolution fusion.

    Branch i works at stride ``2**i`` relative to branch 0. Output i is
    ``ReLU(sum_j f_ij(x_j))``: identity for j == i, 1x1 conv-norm + upsampling for j > i,
    and ``i - j`` stride-2 3x3 convs for j < i.

    Args:
        num_branches: Number of parallel branches.
        blocks: Residual block class (``BasicBlock`` or ``Bottleneck``).
        num_blocks: Blocks per branch.
        in_channels: Input channels per branch.
        num_channels: Block planes per branch (outputs ``planes * expansion``).
        multiscale_output: Output every branch; False outputs branch 0 only.
        with_cp: Gradient checkpointing in blocks.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        block_init_cfg: ``init_cfg`` of every block.
        upsample_mode: Interpolation of the fusion upsampling (``'bilinear'`` as mmseg).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 num_branches: int,
                 blocks: Type[nn.Module],
                 num_blocks: Sequence[int],
                 in_channels: Sequence[int],
                 num_channels: Sequence[int],
                 multiscale_output: bool = True,
                 with_cp: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 block_init_cfg: MultiConfig = None,
                 upsample_mode: str = 'bilinear',
                 init_cfg: MultiConfig = None) -> None:
        super().__init__(init_cfg)
        for key, value in (('num_blocks', num_blocks), ('in_channels', in_channels),
                           ('num_channels', num_channels)):
            if len(value) != num_branches:
                raise ValueError(f'HRModule: num_branches={num_branches} but {key}='
                                 f'{tuple(value)} has {len(value)} entries')
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.upsample_mode = upsample_mode
        self.branches = ModuleList([
            ResLayer(blocks, in_channels[b], num_channels[b], num_blocks[b], stride=1,
                     conv_cfg=conv_cfg, norm_cfg=norm_cfg, with_cp=with_cp,
                     block_init_cfg=block_init_cfg)
            for b in range(num_branches)
        ])
        self.in_channels = [c * blocks.expansion for c in num_channels]
        self.fuse_layers = self._make_fuse_layers(conv_cfg, norm_cfg)
        self.relu = nn.ReLU(inplace=False)

    def _make_fuse_layers(self, conv_cfg: Optional[dict],
                          norm_cfg: dict) -> Optional[nn.ModuleList]:
        if self.num_branches == 1:
            return None
        ch = self.in_channels
        num_out = self.num_branches if self.multiscale_output else 1
        fuse_layers = []
        for i in range(num_out):
            row: List[Optional[nn.Module]] = []
            for j in range(self.num_branches):
                if j > i:
                    row.append(conv_norm(conv_cfg, norm_cfg, ch[j], ch[i], 1))
                elif j == i:
                    row.append(None)
                else:
                    # i - j halvings; only the last one changes the width (and has no ReLU,
                    # because the sum is activated afterwards).
                    steps = [conv_norm(conv_cfg, norm_cfg, ch[j], ch[j], 3, stride=2,
                                       relu=True, inplace=False)
                             for _ in range(i - j - 1)]
                    steps.append(conv_norm(conv_cfg, norm_cfg, ch[j], ch[i], 3, stride=2))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        return nn.ModuleList(fuse_layers)

    def forward(self, x: List[Tensor]) -> List[Tensor]:
        """Run the branches and fuse them.

        Args:
            x: ``num_branches`` float tensors, branch i of shape (N, C_i, H / 2**i, W / 2**i).

        Returns:
            ``num_branches`` fused tensors of the same shapes (only branch 0 when
            ``multiscale_output`` is False).
        """
        feats = [branch(xi) for branch, xi in zip(self.branches, x)]
        if self.fuse_layers is None:
            return feats
        fused = []
        for i, row in enumerate(self.fuse_layers):
            y: Optional[Tensor] = None
            for j, fuse in enumerate(row):
                if j == i:
                    term = feats[j]
                elif j > i:
                    term = upsample_to(fuse(feats[j]), 2**(j - i), feats[i].shape[2:],
                                       self.upsample_mode)
                else:
                    term = fuse(feats[j])
                y = term if y is None else y + term
            fused.append(self.relu(y))
        return fused
