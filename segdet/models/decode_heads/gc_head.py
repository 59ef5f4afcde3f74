"""GCHead: a global context block inside an FCN head (GCNet, arXiv:1904.11492)."""
from typing import Sequence

from mmcv.cnn import ContextBlock
from torch import nn

from segdet.registry import MODELS

from .block_fcn_head import BlockFCNHead

POOLING_TYPES = ('att', 'avg')
FUSION_TYPES = ('channel_add', 'channel_mul')


@MODELS.register_module()
class GCHead(BlockFCNHead):
    """``convs.0 -> gc_block -> convs.1 -> conv_cat -> cls_seg``.

    ``gc_block`` is mmcv's ``ContextBlock``: one context vector per image (softmax-weighted
    sum over positions of the features, weights from the 1x1 ``conv_mask``; or the mean),
    transformed by a 1x1 conv -> LayerNorm -> ReLU -> 1x1 conv bottleneck and added to
    (``channel_add``) or multiplied into (``channel_mul``) every position. The last conv starts
    at zero, so the block starts as the identity.

    Args:
        ratio: Bottleneck width ``int(channels * ratio)``.
        pooling_type: 'att' (attention pooling) or 'avg'.
        fusion_types: Non-empty subset of ('channel_add', 'channel_mul').
        **kwargs: :class:`FCNHead` arguments but ``num_convs`` (always 2).
    """

    def __init__(self, ratio: float = 1 / 4., pooling_type: str = 'att',
                 fusion_types: Sequence[str] = ('channel_add', ), **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(ratio, (int, float)) or int(self.channels * ratio) < 1:
            raise ValueError(f'GCHead: ratio must give a bottleneck of >= 1 channel '
                             f'(int(channels * ratio)), got ratio={ratio!r} with '
                             f'channels={self.channels}')
        if pooling_type not in POOLING_TYPES:
            raise ValueError(f'GCHead: pooling_type must be one of {POOLING_TYPES}, got '
                             f'{pooling_type!r}')
        if not isinstance(fusion_types, (list, tuple)):
            raise TypeError(f'GCHead: fusion_types must be a list/tuple of strings, got '
                            f'{fusion_types!r}')
        if not fusion_types or any(f not in FUSION_TYPES for f in fusion_types):
            raise ValueError(f'GCHead: fusion_types must be a non-empty subset of '
                             f'{FUSION_TYPES}, got {fusion_types!r}')
        self.ratio = ratio
        self.pooling_type = pooling_type
        self.fusion_types = fusion_types
        self.gc_block = ContextBlock(in_channels=self.channels, ratio=ratio,
                                     pooling_type=pooling_type, fusion_types=fusion_types)

    def context_block(self) -> nn.Module:
        return self.gc_block
