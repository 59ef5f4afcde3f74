"""OCRHead: object-contextual representations (OCRNet, arXiv:1909.11065)."""
from typing import Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.models.utils.self_attention_block import SelfAttentionBlock
from segdet.registry import MODELS

from .cascade_decode_head import BaseCascadeDecodeHead


def spatial_gather(feats: Tensor, probs: Tensor, scale: float = 1.0) -> Tensor:
    """Class centres: feature averages weighted by each class's spatial softmax.

    Args:
        feats: (N, C, H, W) float pixel features.
        probs: (N, K, H, W) float class logits of a previous head.
        scale: Temperature multiplied into ``probs`` before the softmax over H*W.

    Returns:
        (N, C, K, 1) float: column k is ``sum_p softmax_p(scale * probs[k]) * feats[:, p]``.
    """
    weights = torch.softmax(scale * probs.flatten(2), dim=2)          # (N, K, HW)
    centres = torch.bmm(weights, feats.flatten(2).transpose(1, 2))    # (N, K, C)
    return centres.transpose(1, 2).unsqueeze(3)


class SpatialGatherModule(nn.Module):
    """Module form of :func:`spatial_gather` (no parameters).

    Args:
        scale: Softmax temperature of the class logits.
    """

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, feats: Tensor, probs: Tensor) -> Tensor:
        """Args: feats (N, C, H, W), probs (N, K, H, W). Returns: (N, C, K, 1)."""
        return spatial_gather(feats, probs, self.scale)


class ObjectAttentionBlock(SelfAttentionBlock):
    """Pixels (queries) attend to class centres (keys); the context is fused with the pixels.

    Args:
        in_channels: Channels of pixel features and class centres (also the output).
        channels: Key/query channels.
        scale: Max-pool factor of the queries when > 1 (context upsampled back).
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config.
    """

    def __init__(self, in_channels: int, channels: int, scale: int,
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict],
                 act_cfg: Optional[dict]) -> None:
        super().__init__(
            key_in_channels=in_channels, query_in_channels=in_channels, channels=channels,
            out_channels=in_channels, share_key_query=False,
            query_downsample=nn.MaxPool2d(kernel_size=scale) if scale > 1 else None,
            key_downsample=None, key_query_num_convs=2, value_out_num_convs=1,
            key_query_norm=True, value_out_norm=True, matmul_norm=True, with_out=True,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.bottleneck = ConvModule(in_channels * 2, in_channels, 1, conv_cfg=conv_cfg,
                                     norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, query_feats: Tensor, key_feats: Tensor) -> Tensor:
        """Args: pixels (N, C, H, W), centres (N, C, K, 1). Returns: (N, C, H, W)."""
        context = super().forward(query_feats, key_feats)
        if context.shape[2:] != query_feats.shape[2:]:
            context = resize(context, size=query_feats.shape[2:], mode='bilinear',
                             align_corners=False)
        return self.bottleneck(torch.cat([context, query_feats], dim=1))


@MODELS.register_module()
class OCRHead(BaseCascadeDecodeHead):
    """Second stage of OCRNet: refine the previous head's logits with object context.

    ``bottleneck`` (3x3) -> class centres from ``prev_output`` (``spatial_gather_module``)
    -> ``object_context_block`` -> ``cls_seg``.

    Args:
        ocr_channels: Key/query channels of the object attention.
        scale: Softmax temperature of the gathering and query max-pool factor (mmseg's
            single knob for both).
        **kwargs: :class:`BaseDecodeHead` arguments (in_channels must sum to an int, e.g.
            with ``input_transform='resize_concat'``).
    """

    def __init__(self, ocr_channels: int, scale: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(self.in_channels, int):
            raise ValueError("OCRHead: needs one input map (input_transform None or "
                             f"'resize_concat'), got input_transform={self.input_transform!r}")
        self.ocr_channels = ocr_channels
        self.scale = scale
        self.object_context_block = ObjectAttentionBlock(
            self.channels, ocr_channels, scale, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.spatial_gather_module = SpatialGatherModule(scale)
        self.bottleneck = ConvModule(self.in_channels, self.channels, 3, padding=1,
                                     conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                     act_cfg=self.act_cfg)

    def forward(self, inputs: Sequence[Tensor], prev_output: Tensor) -> Tensor:
        """Args: features, previous logits (N, K, h', w'). Returns: (N, out_channels, h, w)."""
        feats = self.bottleneck(self._transform_inputs(inputs))
        if prev_output.shape[2:] != feats.shape[2:]:
            prev_output = resize(prev_output, size=feats.shape[2:], mode='bilinear',
                                 align_corners=self.align_corners)
        centres = self.spatial_gather_module(feats, prev_output)
        return self.cls_seg(self.object_context_block(feats, centres))
