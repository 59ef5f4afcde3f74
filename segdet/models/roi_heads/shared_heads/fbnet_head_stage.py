"""FBNetHeadStage: the FBNet arch's box-head blocks run on RoI features (maskrcnn-benchmark's
``FBNet.roi_head``; the C4 model's ``ResLayer`` in the same place)."""
import math
from typing import Mapping, Optional, Sequence, Union

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.backbones.fbnet import (build_fbnet_part, check_width_args,
                                           last_conv_channels)
from segdet.models.backbones.fbnet_archs import resolve_arch
from segdet.registry import MODELS


def blocks_output_size(size: int, strides: Sequence[int]) -> int:
    """Spatial size after blocks of these strides: ``ceil(size / s)`` for ``s > 0`` (padded
    convs), ``size * -s`` for ``s < 0`` (upsampling)."""
    for s in strides:
        size = math.ceil(size / s) if s > 0 else size * -s
    return size


@MODELS.register_module()
class FBNetHeadStage(BaseModule):
    """``blocks``: the blocks of one head ``part`` of an FBNet arch (``xif{stage}_{i}``), then
    ``last``, an optional 1x1 conv + norm + ReLU (the arch's ``last`` with ``last_scale``).

    As the box branch's shared head: input (R, in_channels, 6, 6) RoI features, output
    (R, out_channels, 3, 3) (the first box block has stride 2); ``BBoxHead`` with
    ``with_avg_pool=True, roi_feat_size=3`` follows, as maskrcnn-benchmark's
    ``FastRCNNPredictor`` (average pool, two linear layers).

    Args:
        in_channels: Channels of the RoI features (the trunk's).
        arch, width_ratio, width_divisor, norm_cfg, dw_skip_bn, dw_skip_relu: As the
            ``FBNet`` backbone's (use the same values).
        part: The arch part to build, ``'bbox'`` (``'mask'`` is ``FBNetMaskHead``'s).
        block_indices: Keep only these blocks of the stage (``FBNET.DET_HEAD_BLOCKS``;
            None: all).
        stride: Replace the first block's stride (``FBNET.DET_HEAD_STRIDE``; 0 keeps the
            arch's).
        last_scale: ``FBNET.DET_HEAD_LAST_SCALE`` (> 0 scales the arch's ``last`` width,
            < 0 keeps the input width, 0 adds no conv; no shipped arch has a ``last`` conv).
        norm_eval: Keep BN layers in eval mode while training.

    Attributes:
        out_channels: Output channels.
        strides: Per block, its stride (negative: upsampling).
    """

    def __init__(self, in_channels: int, arch: Union[str, Mapping] = 'default',
                 part: str = 'bbox', width_ratio: float = 1.0, width_divisor: int = 8,
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
                 dw_skip_bn: bool = True, dw_skip_relu: bool = True,
                 block_indices: Optional[Sequence[int]] = None, stride: int = 0,
                 last_scale: float = 1.0, norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg)
        check_width_args(type(self).__name__, width_ratio, width_divisor)
        if stride not in (0, 1, 2):
            raise ValueError(f'{type(self).__name__}: stride must be 0 (the arch\'s), 1 or 2, '
                             f'got {stride!r}')
        arch_def = resolve_arch(arch)
        self.norm_eval = norm_eval
        self.blocks, _ = build_fbnet_part(
            arch_def, part, in_channels, width_ratio=width_ratio, width_divisor=width_divisor,
            norm_cfg=norm_cfg, dw_skip_bn=dw_skip_bn, dw_skip_relu=dw_skip_relu,
            block_indices=block_indices, first_stride=stride)
        self.strides = [block.stride for block in self.blocks]
        channels = list(self.blocks)[-1].out_channels
        last = last_conv_channels(arch_def, last_scale, channels, width_ratio, width_divisor)
        self.last = ConvModule(channels, last, 1, bias=False, norm_cfg=norm_cfg) \
            if last else None
        self.out_channels = last or channels

    def output_size(self, roi_feat_size: int) -> int:
        """Output side length for square RoI features of side ``roi_feat_size``."""
        return blocks_output_size(roi_feat_size, self.strides)

    def forward(self, x: Tensor) -> Tensor:
        """(R, in_channels, S, S) -> (R, out_channels, S', S'), ``S' = output_size(S)``."""
        x = self.blocks(x)
        return self.last(x) if self.last is not None else x

    def train(self, mode: bool = True) -> 'FBNetHeadStage':
        """Set train/eval mode; with ``norm_eval`` every BN stays in eval mode."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
