"""FBNet trunk (maskrcnn-benchmark's light-weight detectors) and the block builder its heads
share.

The trunk is the arch's stem and its ``backbone`` stages; the RPN head
(``segdet.models.dense_heads.FBNetRPNHead``), the box branch's shared head
(``segdet.models.roi_heads.FBNetHeadStage``) and the mask head
(``segdet.models.roi_heads.FBNetMaskHead``) build the arch's ``rpn``, ``bbox`` and ``mask``
stages with :func:`build_fbnet_part`. Block names are maskrcnn-benchmark's (``xif{stage}_{i}``).
"""
from collections import OrderedDict
from typing import Mapping, Optional, Sequence, Union

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule, Sequential
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.registry import MODELS
from .fbnet_archs import ArchDef, part_specs, resolve_arch
from .fbnet_blocks import build_fbnet_block, fbnet_round_channels


def fbnet_width(channels: float, width_ratio: float, width_divisor: int) -> int:
    """A block's output width: ``channels * width_ratio`` rounded by
    :func:`fbnet_round_channels` to a multiple of ``width_divisor``."""
    return fbnet_round_channels(int(channels * width_ratio), width_divisor)


def check_width_args(owner: str, width_ratio: float, width_divisor: int) -> None:
    """Raise ``TypeError`` / ``ValueError`` naming ``owner`` for a bad ratio or divisor."""
    if isinstance(width_ratio, bool) or not isinstance(width_ratio, (int, float)):
        raise TypeError(f'{owner}: width_ratio must be a number > 0, got '
                        f'{type(width_ratio).__name__} {width_ratio!r}')
    if not width_ratio > 0:
        raise ValueError(f'{owner}: width_ratio must be > 0, got {width_ratio}')
    if isinstance(width_divisor, bool) or not isinstance(width_divisor, int) or \
            width_divisor < 1:
        raise ValueError(f'{owner}: width_divisor must be an int >= 1, got {width_divisor!r}')


def build_fbnet_part(arch: Union[str, Mapping], part: str, in_channels: int,
                     width_ratio: float = 1.0, width_divisor: int = 8,
                     norm_cfg: Optional[dict] = dict(type='BN'), dw_skip_bn: bool = True,
                     dw_skip_relu: bool = True,
                     block_indices: Optional[Sequence[int]] = None,
                     first_stride: int = 0) -> tuple[Sequential, list[int]]:
    """The blocks of one part of an arch, chained from ``in_channels``.

    Args:
        arch: Arch name or definition (``fbnet_archs``).
        part: ``'backbone'``, ``'rpn'``, ``'bbox'`` or ``'mask'``.
        in_channels: Width of the part's input.
        width_ratio, width_divisor: Width scaling (maskrcnn-benchmark's ``SCALE_FACTOR``,
            ``WIDTH_DIVISOR``).
        norm_cfg, dw_skip_bn, dw_skip_relu: Passed to every block.
        block_indices: Keep only these blocks of each stage (None: all).
        first_stride: Replaces the first block's stride when not 0 (maskrcnn-benchmark's
            ``*_HEAD_STRIDE``).

    Returns:
        A ``Sequential`` of blocks named ``xif{stage}_{index}`` and, per block, its stage
        index (to split the output by stage).
    """
    specs = part_specs(resolve_arch(arch), part, block_indices)
    blocks: OrderedDict = OrderedDict()
    stages = []
    channels = in_channels
    for i, spec in enumerate(specs):
        stride = first_stride if i == 0 and first_stride else spec.stride
        block = build_fbnet_block(spec.op, channels, fbnet_width(spec.channels, width_ratio,
                                                                 width_divisor),
                                  spec.expansion, stride, width_divisor=width_divisor,
                                  norm_cfg=norm_cfg, dw_skip_bn=dw_skip_bn,
                                  dw_skip_relu=dw_skip_relu)
        blocks[f'xif{spec.stage}_{spec.index}'] = block
        stages.append(spec.stage)
        channels = block.out_channels
    return Sequential(blocks), stages


def last_conv_channels(arch: ArchDef, scale: float, in_channels: int, width_ratio: float,
                       width_divisor: int) -> int:
    """Width of the optional 1x1 conv after a head (the arch's ``last = [c, _]`` with the
    head's ``scale``): 0 (no conv) for ``scale == 0``; ``c * max(width_ratio, 1) * scale``
    for ``scale > 0``; ``in_channels * -scale`` for ``scale < 0``; rounded to the divisor
    (0 stays 0: all shipped archs have ``c = 0``, so positive scales add no conv)."""
    if scale == 0:
        return 0
    channels = arch['block_cfg'].get('last', [0, 0.0])[0]
    if scale > 0:
        width = int(int(channels * width_ratio if width_ratio > 1.0 else channels) * scale)
    else:
        width = int(in_channels * -scale)
    return fbnet_round_channels(width, width_divisor) if width > 0 else 0


@MODELS.register_module()
class FBNet(BaseModule):
    """The trunk of an FBNet arch: ``first`` (kxk conv, norm, ReLU; stride 2) and ``stages``
    (the ``backbone`` stages' blocks ``xif{stage}_{i}``).

    Input (N, in_channels, H, W) float. Output: a tuple with one (N, C_i, H / s_i, W / s_i)
    tensor per ``out_indices`` entry, in stage order (sizes rounded up); by default only the
    last trunk stage, at stride 16 with ``out_channels`` channels (96 for ``default``, 88 for
    ``cham_v1a``, 128 for ``xirb16d_dsmask`` at width ratio 1).

    Args:
        arch: A name of ``FBNET_ARCHS`` (``'default'``, ``'cham_v1a'``, ``'xirb16d_dsmask'``)
            or an arch definition dict in maskrcnn-benchmark's layout.
        width_ratio: Width multiplier (maskrcnn-benchmark's ``FBNET.SCALE_FACTOR``).
        width_divisor: Widths are rounded to multiples of it (``FBNET.WIDTH_DIVISOR``; 8 in
            every model-zoo config).
        in_channels: Input image channels.
        out_indices: Trunk stages (the arch's stage numbers) whose outputs are returned; None:
            the last one.
        norm_cfg: Norm of every conv (trainable BN: the model-zoo models train from scratch).
        dw_skip_bn, dw_skip_relu: No norm / ReLU after depthwise convs
            (``FBNET.DW_CONV_SKIP_BN`` / ``DW_CONV_SKIP_RELU``, True in every config).
        norm_eval: Keep BN layers in eval mode while training.
        init_cfg: mmengine init config; None: each conv's Kaiming (fan-out) init, as
            maskrcnn-benchmark.

    Attributes:
        out_channels: Channels of the last returned output.
        stage_channels, stage_strides: Per trunk stage: output channels and stride.
    """

    def __init__(self, arch: Union[str, Mapping] = 'default', width_ratio: float = 1.0,
                 width_divisor: int = 8, in_channels: int = 3,
                 out_indices: Optional[Sequence[int]] = None,
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
                 dw_skip_bn: bool = True, dw_skip_relu: bool = True, norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg)
        check_width_args('FBNet', width_ratio, width_divisor)
        arch_def = resolve_arch(arch)
        self.arch = arch if isinstance(arch, str) else 'custom'
        self.norm_eval = norm_eval
        first = arch_def['block_cfg']['first']
        kernel = int(first[2]) if len(first) > 2 else 3
        stem = fbnet_width(first[0], width_ratio, width_divisor)
        self.first = ConvModule(in_channels, stem, kernel, int(first[1]), kernel // 2,
                                bias=False, norm_cfg=norm_cfg)
        self.stages, self._block_stages = build_fbnet_part(
            arch_def, 'backbone', stem, width_ratio=width_ratio, width_divisor=width_divisor,
            norm_cfg=norm_cfg, dw_skip_bn=dw_skip_bn, dw_skip_relu=dw_skip_relu)
        channels: dict[int, int] = {}
        strides: dict[int, int] = {}
        stride = int(first[1])
        for block, stage in zip(self.stages, self._block_stages):
            s = getattr(block, 'stride', 1)
            stride = stride * s if s > 0 else stride // -s
            channels[stage], strides[stage] = block.out_channels, stride
        self.stage_channels, self.stage_strides = channels, strides
        trunk = list(channels)
        self.out_indices = tuple(sorted(trunk[-1:] if out_indices is None else out_indices))
        bad = [i for i in self.out_indices if i not in channels]
        if not self.out_indices or bad:
            raise ValueError(f'FBNet: out_indices={self.out_indices} has {bad or "none"}; '
                             f'choose among the trunk stages {trunk}')
        self.out_channels = channels[self.out_indices[-1]]

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """(N, in_channels, H, W) -> tuple of the ``out_indices`` stage outputs."""
        x = self.first(x)
        outs = []
        for i, (block, stage) in enumerate(zip(self.stages, self._block_stages)):
            x = block(x)
            last_of_stage = i + 1 == len(self._block_stages) or \
                self._block_stages[i + 1] != stage
            if last_of_stage and stage in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'FBNet':
        """Set train/eval mode; with ``norm_eval`` every BN stays in eval mode."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
