"""SelfAttentionBlock: key/query/value projections + softmax attention (non-local style).

Used by OCRHead's object attention; names of the projections match mmseg's
(``key_project``, ``query_project``, ``value_project``, ``out_project``).
"""
from typing import Optional

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn


def attention_context(query: Tensor, key: Tensor, value: Tensor, scale: float) -> Tensor:
    """``softmax(scale * query @ key^T) @ value``.

    Args:
        query: (N, Lq, C) float.
        key: (N, Lk, C) float.
        value: (N, Lk, Cv) float.
        scale: Multiplier of the similarities before the softmax.

    Returns:
        (N, Lq, Cv) context.
    """
    return F.scaled_dot_product_attention(query, key, value, scale=scale)


class SelfAttentionBlock(nn.Module):
    """Attend from every query position to every key position.

    Args:
        key_in_channels: Channels of the key/value input.
        query_in_channels: Channels of the query input.
        channels: Channels of the key/query (and, with ``with_out``, value) projections.
        out_channels: Output channels.
        share_key_query: Use one projection for keys and queries.
        query_downsample: Optional module applied to the projected query; the context is
            then at the downsampled size (the caller resizes it).
        key_downsample: Optional module applied to the projected key and value.
        key_query_num_convs: Number of 1x1 convs of the key/query projections.
        value_out_num_convs: Number of 1x1 convs of the value/out projections.
        key_query_norm: Key/query projections are ConvModules (conv+norm+act), else convs.
        value_out_norm: Same for the value/out projections.
        matmul_norm: Scale the similarities by ``channels ** -0.5``.
        with_out: Project the value to ``channels`` and add ``out_project`` to
            ``out_channels``; else the value goes straight to ``out_channels``.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config.
    """

    def __init__(self, key_in_channels: int, query_in_channels: int, channels: int,
                 out_channels: int, share_key_query: bool,
                 query_downsample: Optional[nn.Module], key_downsample: Optional[nn.Module],
                 key_query_num_convs: int, value_out_num_convs: int, key_query_norm: bool,
                 value_out_norm: bool, matmul_norm: bool, with_out: bool,
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict],
                 act_cfg: Optional[dict]) -> None:
        super().__init__()
        if share_key_query and key_in_channels != query_in_channels:
            raise ValueError('SelfAttentionBlock: share_key_query needs key_in_channels == '
                             f'query_in_channels, got {key_in_channels} and {query_in_channels}')
        self.key_in_channels = key_in_channels
        self.query_in_channels = query_in_channels
        self.channels = channels
        self.out_channels = out_channels
        self.share_key_query = share_key_query
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.key_project = self.build_project(key_in_channels, channels, key_query_num_convs,
                                              key_query_norm, conv_cfg, norm_cfg, act_cfg)
        if share_key_query:
            self.query_project = self.key_project
        else:
            self.query_project = self.build_project(query_in_channels, channels,
                                                    key_query_num_convs, key_query_norm,
                                                    conv_cfg, norm_cfg, act_cfg)
        self.value_project = self.build_project(key_in_channels,
                                                channels if with_out else out_channels,
                                                value_out_num_convs, value_out_norm,
                                                conv_cfg, norm_cfg, act_cfg)
        self.out_project = (self.build_project(channels, out_channels, value_out_num_convs,
                                               value_out_norm, conv_cfg, norm_cfg, act_cfg)
                            if with_out else None)
        self.query_downsample = query_downsample
        self.key_downsample = key_downsample
        self.matmul_norm = matmul_norm
        self.init_weights()

    def init_weights(self) -> None:
        """Start a plain-conv out projection at zero, so the block begins as a no-op."""
        if isinstance(self.out_project, nn.Conv2d):
            nn.init.zeros_(self.out_project.weight)
            if self.out_project.bias is not None:
                nn.init.zeros_(self.out_project.bias)

    def build_project(self, in_channels: int, channels: int, num_convs: int,
                      use_conv_module: bool, conv_cfg: Optional[dict],
                      norm_cfg: Optional[dict], act_cfg: Optional[dict]) -> nn.Module:
        """``num_convs`` 1x1 layers; a single layer is returned bare (not in a Sequential)."""
        layers: list[nn.Module] = []
        for i in range(num_convs):
            cin = in_channels if i == 0 else channels
            if use_conv_module:
                layers.append(ConvModule(cin, channels, 1, conv_cfg=conv_cfg,
                                         norm_cfg=norm_cfg, act_cfg=act_cfg))
            else:
                layers.append(nn.Conv2d(cin, channels, 1))
        if not layers:
            raise ValueError(f'SelfAttentionBlock: a projection needs >= 1 conv, got {num_convs}')
        return layers[0] if len(layers) == 1 else nn.Sequential(*layers)

    def forward(self, query_feats: Tensor, key_feats: Tensor) -> Tensor:
        """Context of every query position.

        Args:
            query_feats: (N, query_in_channels, H, W).
            key_feats: (N, key_in_channels, h, w) (e.g. (N, C, K, 1) class centres in OCR).

        Returns:
            (N, out_channels, H', W'): (H, W), or the query size after ``query_downsample``.
        """
        query = self.query_project(query_feats)
        if self.query_downsample is not None:
            query = self.query_downsample(query)
        query_size = query.shape[2:]
        key = self.key_project(key_feats)
        value = self.value_project(key_feats)
        if self.key_downsample is not None:
            key = self.key_downsample(key)
            value = self.key_downsample(value)
        scale = self.channels ** -0.5 if self.matmul_norm else 1.0
        context = attention_context(query.flatten(2).transpose(1, 2),
                                    key.flatten(2).transpose(1, 2),
                                    value.flatten(2).transpose(1, 2), scale)
        context = context.transpose(1, 2).reshape(query.shape[0], -1, *query_size)
        if self.out_project is not None:
            context = self.out_project(context)
        return context
