"""FPNHead: the semantic branch of Panoptic FPN ("Semantic FPN", arXiv:1901.02446)."""
import math
from typing import Sequence

from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils import Upsample, resize
from segdet.models.utils.feature_checks import check_selected_channels
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int_sequence

from .decode_head import BaseDecodeHead


def scale_head_lengths(feature_strides: Sequence[int]) -> list[int]:
    """Number of conv (+ 2x upsample) stages of each scale head.

    A map at stride ``s_i`` needs ``log2(s_i / s_0)`` 2x upsamplings to reach the finest
    stride ``s_0``; each comes after one 3x3 conv, and every scale has at least one conv.

    Args:
        feature_strides: Strides of the input maps, finest first.

    Returns:
        ``max(1, int(log2(s_i) - log2(s_0)))`` for each stride.
    """
    first = math.log2(feature_strides[0])
    return [max(1, int(math.log2(s) - first)) for s in feature_strides]


@MODELS.register_module()
class FPNHead(BaseDecodeHead):
    """Every pyramid level brought to the finest stride by its own scale head, then summed.

    Scale head ``i`` is ``Sequential`` of ``scale_head_lengths(feature_strides)[i]`` blocks
    of a 3x3 ``ConvModule`` (``in_channels[i]`` -> ``channels`` for the first, ``channels``
    -> ``channels`` after) each followed, for levels coarser than the first, by a bilinear 2x
    :class:`Upsample` (mmseg's layout: keys ``scale_heads.{i}.{0,2,4,...}.conv``). The sum of
    the scale heads' outputs (each resized to the first's size, in case the strides are not
    exact) goes to ``cls_seg``.

    Inputs: the maps picked by ``in_index`` (always ``input_transform='multiple_select'``),
    each (N, in_channels[i], H / s_i, W / s_i). Output: (N, out_channels, H / s_0, W / s_0).

    Args:
        feature_strides: Stride of each input map; as many as ``in_channels``, and the first
            is the smallest.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels`` and ``in_index`` lists).
    """

    def __init__(self, feature_strides: Sequence[int], **kwargs) -> None:
        name = type(self).__name__
        transform = kwargs.pop('input_transform', 'multiple_select')
        if transform != 'multiple_select':
            raise ValueError(f"{name}: input_transform is always 'multiple_select', got "
                             f'{transform!r}')
        super().__init__(input_transform='multiple_select', **kwargs)
        strides = check_int_sequence(feature_strides, f'{name}: feature_strides', 1)
        if len(strides) != len(self.in_channels):
            raise ValueError(f'{name}: feature_strides={list(strides)} needs one stride per '
                             f'in_channels entry, got in_channels={self.in_channels}')
        if min(strides) != strides[0]:
            raise ValueError(f'{name}: the first of feature_strides must be the smallest (the '
                             f'finest map), got feature_strides={list(strides)}')
        self.feature_strides = feature_strides

        self.scale_heads = nn.ModuleList()
        for i, length in enumerate(scale_head_lengths(strides)):
            layers: list[nn.Module] = []
            for k in range(length):
                layers.append(ConvModule(
                    self.in_channels[i] if k == 0 else self.channels, self.channels, 3,
                    padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg))
                if strides[i] != strides[0]:
                    layers.append(Upsample(scale_factor=2, mode='bilinear',
                                           align_corners=self.align_corners))
            self.scale_heads.append(nn.Sequential(*layers))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, H / s_0, W / s_0) logits."""
        x = self._transform_inputs(inputs)
        check_selected_channels(type(self).__name__, x, self.in_channels, self.in_index)
        output = self.scale_heads[0](x[0])
        for scale_head, feat in zip(self.scale_heads[1:], x[1:]):
            output = output + resize(scale_head(feat), size=output.shape[2:], mode='bilinear',
                                     align_corners=self.align_corners)
        return self.cls_seg(output)
