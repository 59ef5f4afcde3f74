"""DAHead: position and channel attention (DANet, arXiv:1809.02983)."""
from typing import Sequence, Union

import torch.nn.functional as F
from mmcv.cnn import ConvModule, Scale
from torch import Tensor, nn

from segdet.models.utils.self_attention_block import SelfAttentionBlock
from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.utils.arg_checks import check_int

from .decode_head import BaseDecodeHead


def channel_attention(x: Tensor) -> Tensor:
    """DANet's channel attention context (before the ``gamma`` scaling and the residual).

    With X the (C, L) flattened features of an image, the energy is E = X X^T (C, C); the
    attention is ``softmax(rowmax(E) - E)`` along each row (so channels that are *less*
    similar get more weight, as in the DANet reference code), and the context is A X.

    Args:
        x: (N, C, H, W) float features.

    Returns:
        (N, C, H, W) float context.
    """
    flat = x.flatten(2)                                                 # (N, C, L)
    energy = flat @ flat.transpose(1, 2)                                # (N, C, C)
    energy = energy.amax(dim=-1, keepdim=True) - energy
    return (F.softmax(energy, dim=-1) @ flat).view_as(x)


class PAM(SelfAttentionBlock):
    """Position attention module: ``gamma * attention(x) + x``.

    Query and key are 1x1 convs to ``channels``, the value a 1x1 conv to ``in_channels``; the
    similarities are unscaled dot products, softmaxed over the key positions. ``gamma``
    (a :class:`mmcv.cnn.Scale`) starts at 0.

    Args:
        in_channels: Channels of the input (and output).
        channels: Channels of the query/key projections.
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__(
            key_in_channels=in_channels, query_in_channels=in_channels, channels=channels,
            out_channels=in_channels, share_key_query=False, query_downsample=None,
            key_downsample=None, key_query_num_convs=1, value_out_num_convs=1,
            key_query_norm=False, value_out_norm=False, matmul_norm=False, with_out=False,
            conv_cfg=None, norm_cfg=None, act_cfg=None)
        self.gamma = Scale(0)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        """Args: x (N, C, H, W). Returns: (N, C, H, W)."""
        return self.gamma(super().forward(x, x)) + x


class CAM(nn.Module):
    """Channel attention module: ``gamma * channel_attention(x) + x``, ``gamma`` from 0."""

    def __init__(self) -> None:
        super().__init__()
        self.gamma = Scale(0)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, C, H, W). Returns: (N, C, H, W)."""
        return self.gamma(channel_attention(x)) + x


@MODELS.register_module()
class DAHead(BaseDecodeHead):
    """DANet head: a position-attention branch and a channel-attention branch, summed.

    Each branch is a 3x3 ConvModule, its attention module and another 3x3 ConvModule, with its
    own classifier (``pam_conv_seg``, ``cam_conv_seg``); ``conv_seg`` classifies the sum.
    ``forward`` returns the three (N, out_channels, h, w) logits ``(pam_cam, pam, cam)``;
    ``loss`` computes the base losses of each, keys prefixed ``pam_cam.``, ``pam.``,
    ``cam.`` (mmseg's); ``predict`` uses ``pam_cam``.

    Args:
        pam_channels: Channels of the position attention's query/key projections.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, pam_channels: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pam_channels = check_int(pam_channels, 'DAHead: pam_channels', 1)
        cfg = dict(padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                   act_cfg=self.act_cfg)
        self.pam_in_conv = ConvModule(self.in_channels, self.channels, 3, **cfg)
        self.pam = PAM(self.channels, pam_channels)
        self.pam_out_conv = ConvModule(self.channels, self.channels, 3, **cfg)
        self.pam_conv_seg = nn.Conv2d(self.channels, self.out_channels, kernel_size=1)
        self.cam_in_conv = ConvModule(self.in_channels, self.channels, 3, **cfg)
        self.cam = CAM()
        self.cam_out_conv = ConvModule(self.channels, self.channels, 3, **cfg)
        self.cam_conv_seg = nn.Conv2d(self.channels, self.out_channels, kernel_size=1)

    def pam_cls_seg(self, feat: Tensor) -> Tensor:
        """Classifier of the position-attention branch (dropout, 1x1 conv)."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.pam_conv_seg(feat)

    def cam_cls_seg(self, feat: Tensor) -> Tensor:
        """Classifier of the channel-attention branch (dropout, 1x1 conv)."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.cam_conv_seg(feat)

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Args: multi-level features. Returns: (pam_cam, pam, cam) logits, each
        (N, out_channels, h, w)."""
        x = self._transform_inputs(inputs)
        pam_feat = self.pam_out_conv(self.pam(self.pam_in_conv(x)))
        cam_feat = self.cam_out_conv(self.cam(self.cam_in_conv(x)))
        return (self.cls_seg(pam_feat + cam_feat), self.pam_cls_seg(pam_feat),
                self.cam_cls_seg(cam_feat))

    def predict_by_feat(self, seg_logits: Union[Tensor, Sequence[Tensor]],
                        batch_img_metas: list[dict]) -> Tensor:
        """The fused (``pam_cam``) logits at the input size: (N, out_channels, H, W)."""
        if isinstance(seg_logits, (tuple, list)):
            seg_logits = seg_logits[0]
        return super().predict_by_feat(seg_logits, batch_img_metas)

    def loss_by_feat(self, seg_logits: Sequence[Tensor],
                     batch_data_samples: SampleList) -> dict[str, Tensor]:
        """Base losses of the three outputs.

        Args:
            seg_logits: ``forward``'s (pam_cam, pam, cam) logits.
            batch_data_samples: Samples with ``gt_sem_seg``.

        Returns:
            ``{'pam_cam.loss_ce': ..., 'pam_cam.acc_seg': ..., 'pam.loss_ce': ..., ...}``.
        """
        if len(seg_logits) != 3:
            raise ValueError('DAHead.loss_by_feat needs the (pam_cam, pam, cam) logits of '
                             f'forward, got {len(seg_logits)} outputs')
        losses: dict[str, Tensor] = {}
        for prefix, logits in zip(('pam_cam', 'pam', 'cam'), seg_logits):
            for key, value in super().loss_by_feat(logits, batch_data_samples).items():
                losses[f'{prefix}.{key}'] = value
        return losses
