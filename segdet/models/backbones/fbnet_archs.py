"""The FBNet architectures of maskrcnn-benchmark's light-weight detectors, as data.

FBNet (Wu et al., "FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural
Architecture Search", CVPR 2019) networks are stacks of blocks chosen per position from a table
of block ops (``segdet.models.backbones.fbnet_blocks.FBNET_OPS``). An arch definition has
maskrcnn-benchmark's layout (``fbnet_modeldef.py``), so its JSON ``ARCH_DEF`` strings load too::

    dict(block_op_type=[[op, ...] per stage],          # one op name per block
         block_cfg=dict(first=[channels, stride],       # the stem: 3x3 conv + BN + ReLU
                        stages=[[[t, c, n, s], ...] per stage],
                        last=[channels, channel_scale], # optional 1x1 conv after a head
                        backbone=[stage indices], rpn=[...], bbox=[...], mask=[...]))

Each ``[t, c, n, s]`` row is ``n`` blocks of expansion ``t`` and ``c`` output channels (before
the width ratio and divisor); the first has stride ``s`` (a negative ``s`` upsamples by
``-s``), the others stride 1. The ``backbone`` stages form the trunk (output stride 16 in all
three archs); ``rpn``, ``bbox`` and ``mask`` are the stages of the RPN head and of the box and
mask heads, which run on the trunk's feature map and on its RoI features.
"""
import copy
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, Union

ArchDef = dict[str, Any]

#: The parts an arch assigns stages to (maskrcnn-benchmark's names).
ARCH_PARTS = ('backbone', 'rpn', 'bbox', 'mask')

FBNET_ARCHS: dict[str, ArchDef] = {
    # MobileNetV2-like trunk widths (16..96) with 3x3 blocks throughout.
    'default': dict(
        block_op_type=[
            ['ir_k3'], ['ir_k3'] * 2, ['ir_k3'] * 3, ['ir_k3'] * 7,  # trunk
            ['ir_k3'] * 4,  # stage 4: box head
            ['ir_k3'] * 3,  # stage 5: RPN head
            ['ir_k3'] * 5,  # stage 6: mask head
        ],
        block_cfg=dict(
            first=[32, 2],
            stages=[
                [[1, 16, 1, 1]],
                [[6, 24, 2, 2]],
                [[6, 32, 3, 2]],
                [[6, 64, 4, 2], [6, 96, 3, 1]],
                [[4, 160, 1, 2], [6, 160, 2, 1], [6, 240, 1, 1]],
                [[6, 96, 3, 1]],
                [[4, 160, 1, 1], [6, 160, 3, 1], [3, 80, 1, -2]],
            ],
            last=[0, 0.0], backbone=[0, 1, 2, 3], rpn=[5], bbox=[4], mask=[6])),
    # A 16-channel stem and a wider trunk (up to 128 channels); the mask head downsamples the
    # 6x6 RoI features to 3x3 before upsampling them twice to 12x12 ("dsmask").
    'xirb16d_dsmask': dict(
        block_op_type=[
            ['ir_k3'], ['ir_k3'] * 2, ['ir_k3'] * 3, ['ir_k3'] * 7,  # trunk
            ['ir_k3'] * 4,  # stage 4: box head
            ['ir_k3'] * 5,  # stage 5: mask head
            ['ir_k3'] * 3,  # stage 6: RPN head
        ],
        block_cfg=dict(
            first=[16, 2],
            stages=[
                [[1, 16, 1, 1]],
                [[6, 32, 2, 2]],
                [[6, 48, 3, 2]],
                [[6, 96, 4, 2], [6, 128, 3, 1]],
                [[4, 128, 1, 2], [6, 128, 2, 1], [6, 160, 1, 1]],
                [[4, 128, 1, 2], [6, 128, 2, 1], [6, 128, 1, -2], [3, 64, 1, -2]],
                [[6, 128, 3, 1]],
            ],
            last=[0, 0.0], backbone=[0, 1, 2, 3], rpn=[6], bbox=[4], mask=[5])),
    # 7x7 and 5x5 kernels in the trunk, expansions up to 12; no mask head.
    'cham_v1a': dict(
        block_op_type=[
            ['ir_k3'], ['ir_k7'] * 2, ['ir_k3'] * 5, ['ir_k5'] * 7 + ['ir_k3'] * 5,  # trunk
            ['ir_k3'] * 5,  # stage 4: box head
            ['ir_k3'] * 3,  # stage 5: RPN head
        ],
        block_cfg=dict(
            first=[32, 2],
            stages=[
                [[1, 24, 1, 1]],
                [[4, 48, 2, 2]],
                [[7, 64, 5, 2]],
                [[12, 56, 7, 2], [8, 88, 5, 1]],
                [[7, 152, 4, 2], [10, 104, 1, 1]],
                [[8, 88, 3, 1]],
            ],
            last=[0, 0.0], backbone=[0, 1, 2, 3], rpn=[5], bbox=[4])),
}


@dataclass(frozen=True)
class BlockSpec:
    """One block of an arch: where it sits and what it is (widths before width scaling)."""

    stage: int
    index: int
    op: str
    expansion: float
    channels: int
    stride: int


def _arch_error(message: str) -> ValueError:
    return ValueError(f'FBNet arch: {message}')


def _check_arch_def(arch: Mapping) -> None:
    """Raise if ``arch`` lacks a key of the layout above or its ops and blocks disagree."""
    for key in ('block_op_type', 'block_cfg'):
        if key not in arch:
            raise KeyError(f'FBNet arch: the arch definition has no {key!r} (keys: '
                           f'{sorted(arch)}); see segdet/models/backbones/fbnet_archs.py')
    cfg = arch['block_cfg']
    for key in ('first', 'stages'):
        if key not in cfg:
            raise KeyError(f'FBNet arch: block_cfg has no {key!r} (keys: {sorted(cfg)})')
    first = cfg['first']
    if not isinstance(first, (list, tuple)) or len(first) not in (2, 3) or \
            not all(isinstance(v, (int, float)) for v in first):
        raise _arch_error(f'block_cfg.first={first!r} must be [channels, stride] or '
                          '[channels, stride, kernel] numbers')
    stages, ops = cfg['stages'], arch['block_op_type']
    if len(ops) != len(stages):
        raise _arch_error(f'block_op_type has {len(ops)} stages, block_cfg.stages '
                          f'{len(stages)}')
    for i, (rows, stage_ops) in enumerate(zip(stages, ops)):
        for row in rows:
            if len(row) != 4 or not all(isinstance(v, (int, float)) for v in row):
                raise _arch_error(f'stage {i} row {row!r} must be [t, c, n, s] numbers')
            if int(row[2]) < 1 or int(row[3]) == 0:
                raise _arch_error(f'stage {i} row {row!r}: n must be >= 1 and s != 0')
        num_blocks = sum(int(row[2]) for row in rows)
        if len(stage_ops) != num_blocks:
            raise _arch_error(f'stage {i} has {num_blocks} blocks in block_cfg.stages but '
                              f'{len(stage_ops)} ops in block_op_type')
    for part in ARCH_PARTS:
        bad = [s for s in cfg.get(part, []) if s not in range(len(stages))]
        if bad:
            raise _arch_error(f'block_cfg.{part}={cfg[part]} names stages {bad}; the arch has '
                              f'stages 0..{len(stages) - 1}')


def resolve_arch(arch: Union[str, Mapping]) -> ArchDef:
    """The arch definition of a name in :data:`FBNET_ARCHS`, or a checked copy of a dict.

    Raises:
        KeyError: an unknown arch name (the message lists the known ones), or a dict without
            a required key.
        TypeError: ``arch`` is neither a str nor a dict.
        ValueError: the dict's ops and blocks disagree, or a part names a missing stage.
    """
    if isinstance(arch, str):
        if arch not in FBNET_ARCHS:
            raise KeyError(f'FBNet: unknown arch {arch!r}; choose one of '
                           f'{sorted(FBNET_ARCHS)} or pass an arch definition dict')
        return copy.deepcopy(FBNET_ARCHS[arch])
    if not isinstance(arch, Mapping):
        raise TypeError(f'FBNet: arch must be an arch name or a dict, got '
                        f'{type(arch).__name__} {arch!r}')
    _check_arch_def(arch)
    return copy.deepcopy(dict(arch))


def stage_specs(arch: ArchDef, stage: int) -> list[BlockSpec]:
    """The blocks of one stage, each ``[t, c, n, s]`` row expanded to ``n`` blocks (stride
    ``s`` on the first of them only)."""
    rows = arch['block_cfg']['stages'][stage]
    ops = arch['block_op_type'][stage]
    specs = []
    for t, c, n, s in rows:
        for k in range(int(n)):
            index = len(specs)
            specs.append(BlockSpec(stage=stage, index=index, op=ops[index], expansion=t,
                                   channels=int(c), stride=int(s) if k == 0 else 1))
    return specs


def part_stages(arch: ArchDef, part: str) -> list[int]:
    """Stage indices of ``part``; the trunk defaults to all stages but the last, as in
    maskrcnn-benchmark.

    Raises:
        ValueError: ``part`` is not one of :data:`ARCH_PARTS`.
        KeyError: the arch has no stages for this head (e.g. ``mask`` in ``cham_v1a``).
    """
    if part not in ARCH_PARTS:
        raise ValueError(f'FBNet arch: part must be one of {ARCH_PARTS}, got {part!r}')
    cfg = arch['block_cfg']
    if part in cfg:
        return list(cfg[part])
    if part == 'backbone':
        return list(range(len(cfg['stages']) - 1))
    have = [p for p in ARCH_PARTS if p in cfg]
    raise KeyError(f'FBNet arch: the arch defines no {part!r} stages (it has {have})')


def part_specs(arch: ArchDef, part: str,
               block_indices: Optional[Sequence[int]] = None) -> list[BlockSpec]:
    """The blocks of ``part``'s stages in order; ``block_indices`` keeps only the blocks with
    those indices inside their stage (maskrcnn-benchmark's ``*_HEAD_BLOCKS``; None or empty
    keeps all)."""
    specs = [spec for stage in part_stages(arch, part) for spec in stage_specs(arch, stage)]
    if block_indices:
        specs = [spec for spec in specs if spec.index in set(block_indices)]
        if not specs:
            raise ValueError(f'FBNet arch: block_indices={list(block_indices)} keeps none of '
                             f'the {part!r} blocks')
    return specs
