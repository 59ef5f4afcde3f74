"""ANNHead: asymmetric non-local blocks (ANN, arXiv:1908.07678).

The keys and values of both blocks are pyramid-pooled (a few hundred positions instead of
every pixel), which is what makes the non-local attention "asymmetric" and cheap.
"""
from typing import Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.models.utils.feature_checks import check_selected_channels
from segdet.models.utils.self_attention_block import SelfAttentionBlock as _SelfAttentionBlock
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int, check_int_sequence

from .decode_head import BaseDecodeHead


class PPMConcat(nn.ModuleList):
    """Average-pool to each scale and concatenate the flattened bins (no parameters).

    Args:
        pool_scales: Output sides of the adaptive average pools.
    """

    def __init__(self, pool_scales: Sequence[int] = (1, 3, 6, 8)) -> None:
        super().__init__([nn.AdaptiveAvgPool2d(scale) for scale in pool_scales])

    def forward(self, feats: Tensor) -> Tensor:
        """Args: feats (N, C, H, W). Returns: (N, C, sum(s * s)), the bins of each scale
        row-major, scale after scale."""
        return torch.cat([pool(feats).flatten(2) for pool in self], dim=2)


class SelfAttentionBlock(_SelfAttentionBlock):
    """ANN's attention block: keys and values pyramid-pooled by :class:`PPMConcat`.

    Key and query projections are ConvModules, the value and output projections plain 1x1
    convs (the output one starts at zero); similarities are scaled by ``channels ** -0.5``.
    With ``query_scale > 1`` the projected query is max-pooled by that factor and the context
    is resized back (bilinear) to the query input's size.

    Args:
        low_in_channels: Channels of the key/value input.
        high_in_channels: Channels of the query input.
        channels: Channels of the key/query/value projections.
        out_channels: Output channels.
        share_key_query: One projection for keys and queries.
        query_scale: Max-pool factor of the query.
        key_pool_scales: Pool scales of the keys/values.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config.
        align_corners: ``align_corners`` of the resize with ``query_scale > 1``.
    """

    def __init__(self, low_in_channels: int, high_in_channels: int, channels: int,
                 out_channels: int, share_key_query: bool, query_scale: int,
                 key_pool_scales: Sequence[int], conv_cfg: Optional[dict],
                 norm_cfg: Optional[dict], act_cfg: Optional[dict],
                 align_corners: bool = False) -> None:
        super().__init__(
            key_in_channels=low_in_channels, query_in_channels=high_in_channels,
            channels=channels, out_channels=out_channels, share_key_query=share_key_query,
            query_downsample=nn.MaxPool2d(query_scale) if query_scale > 1 else None,
            key_downsample=PPMConcat(key_pool_scales), key_query_num_convs=1,
            value_out_num_convs=1, key_query_norm=True, value_out_norm=False,
            matmul_norm=True, with_out=True, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        self.align_corners = align_corners

    def forward(self, query_feats: Tensor, key_feats: Tensor) -> Tensor:
        """Args: query_feats (N, high_in_channels, H, W), key_feats (N, low_in_channels, h, w).
        Returns: (N, out_channels, H, W)."""
        context = super().forward(query_feats, key_feats)
        if context.shape[2:] != query_feats.shape[2:]:
            context = resize(context, size=query_feats.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)
        return context


class _AttentionFusion(nn.Module):
    """What AFNB and APNB share: one :class:`SelfAttentionBlock` ``stage`` per query scale,
    their contexts summed, concatenated with the query map and fused by a 1x1 ``bottleneck``.

    Takes the arguments of :class:`AFNB` (the low-level map gives the keys/values, the
    high-level one the queries) and: ``share_key_query`` (one projection for keys and
    queries), ``bottleneck_in_channels`` and ``bottleneck_act_cfg`` (input channels and
    activation config of the ``bottleneck``).
    """

    def __init__(self, low_in_channels: int, high_in_channels: int, channels: int,
                 out_channels: int, share_key_query: bool, bottleneck_in_channels: int,
                 bottleneck_act_cfg: Optional[dict], query_scales: Sequence[int],
                 key_pool_scales: Sequence[int], conv_cfg: Optional[dict],
                 norm_cfg: Optional[dict], act_cfg: Optional[dict],
                 align_corners: bool = False) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            SelfAttentionBlock(low_in_channels, high_in_channels, channels, out_channels,
                               share_key_query=share_key_query, query_scale=scale,
                               key_pool_scales=key_pool_scales, conv_cfg=conv_cfg,
                               norm_cfg=norm_cfg, act_cfg=act_cfg, align_corners=align_corners)
            for scale in query_scales)
        self.bottleneck = ConvModule(bottleneck_in_channels, out_channels, 1, conv_cfg=conv_cfg,
                                     norm_cfg=norm_cfg, act_cfg=bottleneck_act_cfg)

    def fuse(self, query_feats: Tensor, key_feats: Tensor) -> Tensor:
        """Args: query_feats (N, high_in_channels, H, W), key_feats (N, low_in_channels, h, w).
        Returns: (N, out_channels, H, W)."""
        context = sum(stage(query_feats, key_feats) for stage in self.stages)
        return self.bottleneck(torch.cat([context, query_feats], dim=1))


class AFNB(_AttentionFusion):
    """Asymmetric fusion non-local block: the high-level map attends to the low-level one.

    The contexts of the ``stages`` (one per query scale) are summed, concatenated with the
    high-level map and fused by a 1x1 ``bottleneck`` (no activation).

    Args:
        low_in_channels: Channels of the low-level (key/value) map.
        high_in_channels: Channels of the high-level (query) map.
        channels: Channels of the projections.
        out_channels: Output channels.
        query_scales: One attention stage per query max-pool factor.
        key_pool_scales: Pool scales of the keys/values.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config of the projections.
        align_corners: See :class:`SelfAttentionBlock`.
    """

    def __init__(self, low_in_channels: int, high_in_channels: int, channels: int,
                 out_channels: int, query_scales: Sequence[int], key_pool_scales: Sequence[int],
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict], act_cfg: Optional[dict],
                 align_corners: bool = False) -> None:
        super().__init__(low_in_channels, high_in_channels, channels, out_channels,
                         share_key_query=False,
                         bottleneck_in_channels=out_channels + high_in_channels,
                         bottleneck_act_cfg=None, query_scales=query_scales,
                         key_pool_scales=key_pool_scales, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                         act_cfg=act_cfg, align_corners=align_corners)

    def forward(self, low_feats: Tensor, high_feats: Tensor) -> Tensor:
        """Args: low_feats (N, low_in_channels, h, w), high_feats (N, high_in_channels, H, W).
        Returns: (N, out_channels, H, W)."""
        return self.fuse(high_feats, low_feats)


class APNB(_AttentionFusion):
    """Asymmetric pyramid non-local block: self-attention of one map (shared key/query
    projection), concatenated with the map and fused by a 1x1 ``bottleneck``.

    Args:
        in_channels: Channels of the input map.
        channels: Channels of the projections.
        out_channels: Output channels (also the context's channels).
        query_scales: One attention stage per query max-pool factor.
        key_pool_scales: Pool scales of the keys/values.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config.
        align_corners: See :class:`SelfAttentionBlock`.
    """

    def __init__(self, in_channels: int, channels: int, out_channels: int,
                 query_scales: Sequence[int], key_pool_scales: Sequence[int],
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict], act_cfg: Optional[dict],
                 align_corners: bool = False) -> None:
        # mmseg sizes the input of the bottleneck as 2 * in_channels, i.e. it assumes
        # out_channels == in_channels (ANNHead always builds it so)
        super().__init__(in_channels, in_channels, channels, out_channels, share_key_query=True,
                         bottleneck_in_channels=2 * in_channels, bottleneck_act_cfg=act_cfg,
                         query_scales=query_scales, key_pool_scales=key_pool_scales,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                         align_corners=align_corners)

    def forward(self, feats: Tensor) -> Tensor:
        """Args: feats (N, in_channels, H, W). Returns: (N, out_channels, H, W)."""
        return self.fuse(feats, feats)


@MODELS.register_module()
class ANNHead(BaseDecodeHead):
    """ANN head: AFNB fuses the two selected maps, a 3x3 ``bottleneck`` reduces the result,
    APNB adds its self-attention context, ``conv_seg`` classifies.

    Reads two maps, low then high level (``input_transform='multiple_select'`` is fixed, so
    ``in_channels`` and ``in_index`` are 2-item lists); dropout is applied after the AFNB
    as well as before ``conv_seg``.

    Args:
        project_channels: Channels of the key/query/value projections of both blocks.
        query_scales: Query max-pool factors, one attention stage each.
        key_pool_scales: Pool scales of the keys/values.
        **kwargs: :class:`BaseDecodeHead` arguments; ``input_transform`` may only be
            'multiple_select'.
    """

    def __init__(self, project_channels: int, query_scales: Sequence[int] = (1, ),
                 key_pool_scales: Sequence[int] = (1, 3, 6, 8), **kwargs) -> None:
        transform = kwargs.pop('input_transform', 'multiple_select')
        if transform != 'multiple_select':
            raise ValueError("ANNHead: input_transform is always 'multiple_select' (the head "
                             f'reads a low- and a high-level map), got {transform!r}')
        super().__init__(input_transform='multiple_select', **kwargs)
        if len(self.in_channels) != 2:
            raise ValueError('ANNHead: in_channels (and in_index) must list 2 maps, the low- '
                             f'and the high-level one, got in_channels={self.in_channels}, '
                             f'in_index={self.in_index}')
        self.project_channels = check_int(project_channels, 'ANNHead: project_channels', 1)
        self.query_scales = check_int_sequence(query_scales, 'ANNHead: query_scales', 1)
        self.key_pool_scales = check_int_sequence(key_pool_scales, 'ANNHead: key_pool_scales',
                                                  1)
        low_in_channels, high_in_channels = self.in_channels
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        blocks = dict(query_scales=self.query_scales, key_pool_scales=self.key_pool_scales,
                      align_corners=self.align_corners, **cfg)
        self.fusion = AFNB(low_in_channels, high_in_channels, project_channels,
                           out_channels=high_in_channels, **blocks)
        self.bottleneck = ConvModule(high_in_channels, self.channels, 3, padding=1, **cfg)
        self.context = APNB(self.channels, project_channels, out_channels=self.channels,
                            **blocks)

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, H, W) at the high-level map's size."""
        feats = self._transform_inputs(inputs)
        check_selected_channels('ANNHead', feats, self.in_channels, self.in_index)
        low_feats, high_feats = feats
        out = self.fusion(low_feats, high_feats)
        if self.dropout is not None:
            out = self.dropout(out)
        return self.context(self.bottleneck(out))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, H, W) logits."""
        return self.cls_seg(self._forward_feature(inputs))
