"""EncHead: context encoding module and semantic encoding loss (EncNet, arXiv:1803.08904)."""
import copy
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.models.utils.encoding import Encoding
from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.utils.arg_checks import check_int

from .decode_head import BaseDecodeHead, _fp32_context, stack_gt_sem_seg


def norm_cfg_1d(norm_cfg: Optional[dict]) -> dict:
    """The 1-d counterpart of a 2-d norm config, for the (N, K, C) codeword features.

    'BN' / 'IN' -> 'BN1d' / 'IN1d', a '...2d' type -> '...1d', anything else (SyncBN, GN)
    unchanged; None -> BN1d (as mmseg).
    """
    if norm_cfg is None:
        return dict(type='BN1d')
    cfg = copy.deepcopy(norm_cfg)
    cfg['type'] = cfg['type'] + '1d' if cfg['type'] in ('BN', 'IN') else \
        cfg['type'].replace('2d', '1d')
    return cfg


def class_presence(seg_label: Tensor, num_classes: int) -> Tensor:
    """Which classes occur in each label map: the targets of the SE loss.

    Args:
        seg_label: (N, H, W) int labels; values outside [0, num_classes) (ignore_index)
            are not counted.
        num_classes: Number of classes K.

    Returns:
        (N, K) float, 1.0 where the class has at least one pixel, else 0.0.
    """
    n = seg_label.size(0)
    labels = seg_label.reshape(n, -1).long()
    valid = (labels >= 0) & (labels < num_classes)
    flat = (torch.arange(n, device=labels.device)[:, None] * num_classes + labels)[valid]
    counts = torch.bincount(flat, minlength=n * num_classes)
    return (counts > 0).float().view(n, num_classes)


class EncModule(nn.Module):
    """Context encoding: codeword encoding of the features gates their channels.

    ``encoding_feat`` is the (N, C) mean over codewords of the normalised encoding;
    the output is ``relu(x + x * sigmoid(fc(encoding_feat)))``.

    Args:
        in_channels: Channels C of the input (and of the codewords).
        num_codes: Number of codewords K.
        conv_cfg: Conv config of ``encoding_project``.
        norm_cfg: Norm config (2-d; its 1-d counterpart normalises the encoding).
        act_cfg: Activation config of ``encoding_project``.
    """

    def __init__(self, in_channels: int, num_codes: int, conv_cfg: Optional[dict],
                 norm_cfg: Optional[dict], act_cfg: Optional[dict]) -> None:
        super().__init__()
        self.encoding_project = ConvModule(in_channels, in_channels, 1, conv_cfg=conv_cfg,
                                           norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.encoding = nn.Sequential(
            Encoding(channels=in_channels, num_codes=num_codes),
            build_norm_layer(norm_cfg_1d(norm_cfg), num_codes)[1],
            nn.ReLU(inplace=True))
        self.fc = nn.Sequential(nn.Linear(in_channels, in_channels), nn.Sigmoid())

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Args: x (N, C, H, W). Returns: encoding_feat (N, C), gated features (N, C, H, W)."""
        encoding_feat = self.encoding(self.encoding_project(x)).mean(dim=1)
        gamma = self.fc(encoding_feat)[:, :, None, None]
        return encoding_feat, F.relu_(x + x * gamma)


@MODELS.register_module()
class EncHead(BaseDecodeHead):
    """EncNet head: bottleneck (+ lateral fusion), context encoding, classifier.

    Reads several maps (``input_transform='multiple_select'`` is fixed, so ``in_channels``
    and ``in_index`` are lists); the bottleneck takes the last one.

    ``forward`` returns the (N, out_channels, h, w) logits, and with ``use_se_loss`` also the
    (N, num_classes) class-presence logits of ``se_layer``. ``loss`` adds ``loss_se``:
    ``loss_se_decode`` (sigmoid BCE, weight 0.2) of those logits against which classes occur
    in each label map. ``predict`` uses the segmentation logits only.

    Args:
        num_codes: Number of codewords.
        use_se_loss: Add the semantic encoding (SE) loss and ``se_layer``.
        add_lateral: Fuse 1x1 projections of the other selected maps with the bottleneck.
        loss_se_decode: Config of the SE loss.
        **kwargs: :class:`BaseDecodeHead` arguments; ``input_transform`` may only be
            'multiple_select'.
    """

    def __init__(self,
                 num_codes: int = 32,
                 use_se_loss: bool = True,
                 add_lateral: bool = False,
                 loss_se_decode: dict = dict(
                     type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.2),
                 **kwargs) -> None:
        transform = kwargs.pop('input_transform', 'multiple_select')
        if transform != 'multiple_select':
            raise ValueError("EncHead: input_transform is always 'multiple_select' (the head "
                             f'reads a list of maps), got input_transform={transform!r}')
        super().__init__(input_transform='multiple_select', **kwargs)
        check_int(num_codes, 'EncHead: num_codes', 1)
        self.use_se_loss = use_se_loss
        self.add_lateral = add_lateral
        self.num_codes = num_codes
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.bottleneck = ConvModule(self.in_channels[-1], self.channels, 3, padding=1, **cfg)
        if add_lateral:
            self.lateral_convs = nn.ModuleList(
                ConvModule(c, self.channels, 1, **cfg) for c in self.in_channels[:-1])
            self.fusion = ConvModule(len(self.in_channels) * self.channels, self.channels, 3,
                                     padding=1, **cfg)
        self.enc_module = EncModule(self.channels, num_codes=num_codes, **cfg)
        if use_se_loss:
            if not isinstance(loss_se_decode, dict):
                raise TypeError(f'EncHead: loss_se_decode must be a dict, got {loss_se_decode!r}')
            self.loss_se_decode = MODELS.build(copy.deepcopy(loss_se_decode))
            self.se_layer = nn.Linear(self.channels, self.num_classes)

    def forward(self, inputs: Sequence[Tensor]) -> Union[Tensor, tuple[Tensor, Tensor]]:
        """Args: multi-level features. Returns: (N, out_channels, h, w) logits, and with
        ``use_se_loss`` the (N, num_classes) SE logits."""
        inputs = self._transform_inputs(inputs)
        feat = self.bottleneck(inputs[-1])
        if self.add_lateral:
            laterals = [resize(conv(inputs[i]), size=feat.shape[2:], mode='bilinear',
                               align_corners=self.align_corners)
                        for i, conv in enumerate(self.lateral_convs)]
            feat = self.fusion(torch.cat([feat, *laterals], dim=1))
        encode_feat, feat = self.enc_module(feat)
        seg_logits = self.cls_seg(feat)
        if self.use_se_loss:
            return seg_logits, self.se_layer(encode_feat)
        return seg_logits

    def predict_by_feat(self, seg_logits: Union[Tensor, Sequence[Tensor]],
                        batch_img_metas: list[dict]) -> Tensor:
        """Segmentation logits (the first output; the SE logits are dropped) at the input
        size: (N, out_channels, H, W)."""
        if isinstance(seg_logits, (tuple, list)):
            seg_logits = seg_logits[0]
        return super().predict_by_feat(seg_logits, batch_img_metas)

    def loss_by_feat(self, seg_logits: Union[Tensor, Sequence[Tensor]],
                     batch_data_samples: SampleList) -> dict[str, Tensor]:
        """The base losses of the segmentation logits, plus ``loss_se`` with
        ``use_se_loss``.

        Args:
            seg_logits: ``forward``'s output: logits, or (logits, (N, num_classes) SE logits).
            batch_data_samples: Samples with ``gt_sem_seg``.

        Returns:
            ``{loss_name: ..., 'acc_seg': ..., 'loss_se': ...}``.
        """
        if not self.use_se_loss:
            return super().loss_by_feat(seg_logits, batch_data_samples)
        seg_logits, se_logits = seg_logits
        losses = super().loss_by_feat(seg_logits, batch_data_samples)
        seg_label = stack_gt_sem_seg(batch_data_samples).to(se_logits.device)
        with _fp32_context(se_logits.device):
            losses['loss_se'] = self.loss_se_decode(
                se_logits.float(), class_presence(seg_label, self.num_classes))
        return losses
