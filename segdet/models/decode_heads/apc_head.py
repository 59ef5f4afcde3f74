"""APCHead: adaptive context modules (APCNet, CVPR 2019, He, Deng, Zhou, Wang and Qiao)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int, check_int_sequence

from .decode_head import BaseDecodeHead


def adaptive_context(affinity_logits: Tensor, region_feats: Tensor) -> Tensor:
    """APCNet's adaptive context: each pixel sums the region features weighted by its
    sigmoid affinities.

    With S x S regions (indexed row-major, k = row * S + col), the context of pixel p is
    ``z[:, p] = sum_k sigmoid(affinity_logits[k, p]) * region_feats[:, k]``. The affinities
    are independent sigmoids, not a softmax over regions.

    Args:
        affinity_logits: (N, S * S, H, W) float, one logit per region and pixel.
        region_feats: (N, C, S, S) float region (pooled) features.

    Returns:
        (N, C, H, W) float context.

    Raises:
        ValueError: The batch sizes differ, or ``affinity_logits`` does not have one channel
            per region of ``region_feats``.
    """
    n, k = affinity_logits.shape[:2]
    if region_feats.dim() != 4 or region_feats.shape[0] != n or \
            region_feats.shape[2] * region_feats.shape[3] != k:
        raise ValueError('adaptive_context: affinity_logits (N, S*S, H, W) and region_feats '
                         '(N, C, S, S) do not agree, got shapes '
                         f'{tuple(affinity_logits.shape)} and {tuple(region_feats.shape)}')
    return torch.einsum('nkhw,nck->nchw', affinity_logits.sigmoid(), region_feats.flatten(2))


class ACM(nn.Module):
    """Adaptive context module: pooled region features mixed into every pixel.

    ``x`` is pooled to ``pool_scale`` x ``pool_scale`` regions (``pooled_redu_conv``) and
    reduced (``input_redu_conv``); ``gla`` turns the reduced map plus its projected global
    average (``global_info``) into (S * S) affinity logits per pixel; the adaptive context
    (:func:`adaptive_context`) goes through ``residual_conv``, is added to the reduced map,
    passes a ReLU and, with ``fusion``, ``fusion_conv``.

    Args:
        pool_scale: S, the side of the region grid.
        fusion: Add ``fusion_conv`` at the end.
        in_channels: Input channels.
        channels: Output channels.
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config.
    """

    def __init__(self, pool_scale: int, fusion: bool, in_channels: int, channels: int,
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict],
                 act_cfg: Optional[dict]) -> None:
        super().__init__()
        self.pool_scale = pool_scale
        self.fusion = fusion
        self.in_channels = in_channels
        self.channels = channels
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.pooled_redu_conv = ConvModule(in_channels, channels, 1, **cfg)
        self.input_redu_conv = ConvModule(in_channels, channels, 1, **cfg)
        self.global_info = ConvModule(channels, channels, 1, **cfg)
        self.gla = nn.Conv2d(channels, pool_scale ** 2, 1)
        self.residual_conv = ConvModule(channels, channels, 1, **cfg)
        if fusion:
            self.fusion_conv = ConvModule(channels, channels, 1, **cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, in_channels, H, W). Returns: (N, channels, H, W)."""
        regions = self.pooled_redu_conv(F.adaptive_avg_pool2d(x, self.pool_scale))
        x = self.input_redu_conv(x)
        # the (N, C, 1, 1) global feature broadcasts over the pixels
        global_feat = self.global_info(F.adaptive_avg_pool2d(x, 1))
        context = adaptive_context(self.gla(x + global_feat), regions)
        out = F.relu(self.residual_conv(context) + x)
        if self.fusion:
            out = self.fusion_conv(out)
        return out


@MODELS.register_module()
class APCHead(BaseDecodeHead):
    """APCNet head: one :class:`ACM` per pool scale, concatenated with the input and fused
    by a 3x3 ``bottleneck``.

    Args:
        pool_scales: Region grid sides of the ACMs.
        fusion: Give every ACM its ``fusion_conv``.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, pool_scales: Sequence[int] = (1, 2, 3, 6), fusion: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        check_int(self.in_channels, 'APCHead: in_channels', 1)
        self.pool_scales = check_int_sequence(pool_scales, 'APCHead: pool_scales', 1)
        self.fusion = fusion
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.acm_modules = nn.ModuleList(
            ACM(scale, fusion, self.in_channels, self.channels, **cfg)
            for scale in self.pool_scales)
        self.bottleneck = ConvModule(self.in_channels + len(self.pool_scales) * self.channels,
                                     self.channels, 3, padding=1, **cfg)

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        return self.bottleneck(torch.cat([x, *(acm(x) for acm in self.acm_modules)], dim=1))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, h, w) logits."""
        return self.cls_seg(self._forward_feature(inputs))
