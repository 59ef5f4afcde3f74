"""BiSeNetV2 backbone (Yu et al., "BiSeNet V2: Bilateral Network with Guided Aggregation for
Real-time Semantic Segmentation", IJCV 2021, arXiv:2004.02147).

Registered name, arguments, defaults and parameter names follow mmsegmentation 1.x, so its
``bisenetv2_*`` configs and checkpoints load unchanged. The blocks are in
:mod:`segdet.models.backbones.bisenetv2_modules`.
"""
from typing import Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import Tensor

from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int, check_int_sequence

from .bisenetv2_modules import BGALayer, DetailBranch, SemanticBranch

#: Output index -> what it is: the aggregated map, then the semantic stages.
OUTPUTS = ('BGA (stride 8)', 'semantic stage 1 (stride 4)', 'semantic stage 2 (stride 8)',
           'semantic stage 3 (stride 16)', 'semantic stage 4 (stride 32)')
#: Stride of each output relative to the input.
OUTPUT_STRIDES = (8, 4, 8, 16, 32)
NUM_DETAIL_STAGES = 3
NUM_SEMANTIC_STAGES = 4


@MODELS.register_module()
class BiSeNetV2(BaseModule):
    """Two branches from the image, fused by bilateral guided aggregation.

    The detail branch (``detail``: wide, 3 stages, stride 8) keeps spatial detail; the
    semantic branch (``semantic``: a stem, gather-and-expansion stages and a context
    embedding, stride 32) gathers context; ``bga`` fuses the detail map with the context
    embedding's output into the map the decode head reads. The semantic stages also feed
    the auxiliary heads ("booster" heads in the paper).

    Input (N, in_channels, H, W) float. Outputs, indexed by ``out_indices`` (sizes rounded up):

    ====  ======================================  ========================  ======
    idx   map                                     channels                  stride
    ====  ======================================  ========================  ======
    0     bilateral guided aggregation            ``bga_channels``          8
    1-4   semantic stage 1-4                      ``semantic_channels[i]``  4 .. 32
    ====  ======================================  ========================  ======

    mmseg's config returns all five: (128, 16, 32, 64, 128) channels at strides
    (8, 4, 8, 16, 32).

    Args:
        in_channels: Channels of the input image.
        detail_channels: Widths of the 3 detail stages; the last equals ``bga_channels``.
        semantic_channels: Widths of the 4 semantic stages (stem first, >= 2); the last equals
            ``bga_channels``.
        semantic_expansion_ratio: Hidden-width ratio of the gather-and-expansion layers.
        bga_channels: Width of the aggregation (and of both branches' last maps).
        out_indices: Outputs to return, in order, from 0 (aggregation) to 4 (semantic stage 4).
        align_corners: ``align_corners`` of the aggregation's bilinear resizes.
        conv_cfg: Conv config of every layer (None: ``nn.Conv2d``).
        norm_cfg: Norm config of every layer (mmseg builds its branches with BN whatever
            this says; its configs leave it at BN, so the two agree there).
        act_cfg: Activation config of every layer.
        init_cfg: mmengine init config; None: Kaiming convs, norm weights 1 (mmseg's).
    """

    def __init__(self,
                 in_channels: int = 3,
                 detail_channels: Sequence[int] = (64, 64, 128),
                 semantic_channels: Sequence[int] = (16, 32, 64, 128),
                 semantic_expansion_ratio: int = 6,
                 bga_channels: int = 128,
                 out_indices: Union[int, Sequence[int]] = (0, 1, 2, 3, 4),
                 align_corners: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        if init_cfg is None:
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg=init_cfg)
        out_indices = self._check_args(in_channels, detail_channels, semantic_channels,
                                       semantic_expansion_ratio, bga_channels, out_indices,
                                       norm_cfg)
        self.in_channels = in_channels
        self.out_indices = out_indices
        self.detail_channels = tuple(detail_channels)
        self.semantic_channels = tuple(semantic_channels)
        self.semantic_expansion_ratio = semantic_expansion_ratio
        self.bga_channels = bga_channels
        self.align_corners = align_corners
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        all_channels = (bga_channels, ) + self.semantic_channels
        self.out_channels = tuple(all_channels[i] for i in out_indices)
        self.out_strides = tuple(OUTPUT_STRIDES[i] for i in out_indices)

        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.detail = DetailBranch(self.detail_channels, in_channels, **cfgs)
        self.semantic = SemanticBranch(self.semantic_channels, in_channels,
                                       semantic_expansion_ratio, **cfgs)
        self.bga = BGALayer(bga_channels, align_corners, **cfgs)

    @staticmethod
    def _check_args(in_channels: int, detail_channels: Sequence[int],
                    semantic_channels: Sequence[int], expansion: int, bga_channels: int,
                    out_indices: Union[int, Sequence[int]],
                    norm_cfg: dict) -> Tuple[int, ...]:
        """Validate the arguments; return ``out_indices`` as a tuple."""
        check_int(in_channels, 'BiSeNetV2: in_channels', 1)
        check_int(expansion, 'BiSeNetV2: semantic_expansion_ratio', 1)
        check_int(bga_channels, 'BiSeNetV2: bga_channels', 1)
        detail = check_int_sequence(detail_channels, 'BiSeNetV2: detail_channels', 1)
        semantic = check_int_sequence(semantic_channels, 'BiSeNetV2: semantic_channels', 1)
        # The aggregation multiplies the detail map brought down 4x with the semantic map:
        # their strides (8 and 32) fix the number of stages.
        for name, value, num in (('detail_channels', detail, NUM_DETAIL_STAGES),
                                 ('semantic_channels', semantic, NUM_SEMANTIC_STAGES)):
            if len(value) != num:
                raise ValueError(f'BiSeNetV2: {name} must have {num} entries (one per stage), '
                                 f'got {len(value)}: {name}={tuple(value)}')
            if value[-1] != bga_channels:
                raise ValueError(f'BiSeNetV2: the last entry of {name}={tuple(value)} must '
                                 f'equal bga_channels={bga_channels} (the aggregation fuses '
                                 'both branches at that width)')
        if semantic[0] < 2:
            raise ValueError(f'BiSeNetV2: semantic_channels[0] must be >= 2 (the stem halves '
                             f'it), got semantic_channels={tuple(semantic)}')
        indices = (out_indices, ) if isinstance(out_indices, int) else out_indices
        if not isinstance(indices, (list, tuple)) or \
                not all(isinstance(i, int) for i in indices):
            raise TypeError(f'BiSeNetV2: out_indices must be an int or a list/tuple of ints, '
                            f'got {type(out_indices).__name__} {out_indices!r}')
        bad = [i for i in indices if i not in range(len(OUTPUTS))]
        if bad or not indices:
            choices = ', '.join(f'{i}: {name}' for i, name in enumerate(OUTPUTS))
            problem = f'has {bad} outside the {len(OUTPUTS)} outputs' if bad else 'is empty'
            raise ValueError(f'BiSeNetV2: out_indices={out_indices!r} {problem}; choose from '
                             f'{choices}')
        if not isinstance(norm_cfg, dict):
            raise TypeError(f'BiSeNetV2: norm_cfg must be a dict such as dict(type=\'BN\') '
                            f'(the context block normalises pooled features), got {norm_cfg!r}')
        return tuple(indices)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Extract features.

        Args:
            x: (N, in_channels, H, W) float images.

        Returns:
            One (N, C_i, ceil(H / s_i), ceil(W / s_i)) map per ``out_indices`` entry, with
            ``C_i`` and ``s_i`` from ``out_channels`` / ``out_strides``.
        """
        detail = self.detail(x)
        semantic = self.semantic(x)
        outs = (self.bga(detail, semantic[-1]), *semantic[:-1])
        return tuple(outs[i] for i in self.out_indices)
