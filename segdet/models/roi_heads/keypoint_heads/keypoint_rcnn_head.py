"""KeypointRCNNHead: per-RoI keypoint heatmaps (Keypoint R-CNN, He et al. 2017)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.registry import MODELS

from .keypoint_coder import (heatmaps_to_keypoints, keypoint_heatmap_loss,
                             keypoints_to_heatmap_targets)


@MODELS.register_module()
class KeypointRCNNHead(BaseModule):
    """``convs`` (``num_convs`` 3x3 conv + ReLU), a stride-2 transposed conv ``deconv_logits``
    to K channels, then x2 bilinear upsampling.

    Input (P, in_channels, S, S) RoI features (S = 14); output (P, K, 4S, 4S) heatmap logits
    (56 x 56), one spatial softmax per keypoint.

    Args:
        num_keypoints: K (17 for COCO persons).
        num_convs, in_channels, conv_out_channels, conv_kernel_size: The conv stack
            (8 x 3x3-512 in Detectron and maskrcnn-benchmark).
        deconv_kernel_size: Of the stride-2 transposed conv (4, padding 1: exactly x2).
        upsample_scale: Bilinear factor after it (2).
        conv_cfg, norm_cfg: Of the convs (no norm in the reference models).
        loss_weight: Weight of the heatmap cross-entropy (``loss_keypoint``).
    """

    def __init__(self, num_keypoints: int = 17, num_convs: int = 8, in_channels: int = 256,
                 conv_out_channels: int = 512, conv_kernel_size: int = 3,
                 deconv_kernel_size: int = 4, upsample_scale: int = 2,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 loss_weight: float = 1.0, init_cfg=None) -> None:
        super().__init__(init_cfg)
        if num_keypoints < 1:
            raise ValueError(f'KeypointRCNNHead: num_keypoints must be >= 1, got {num_keypoints}')
        if deconv_kernel_size % 2:
            raise ValueError('KeypointRCNNHead: deconv_kernel_size must be even (an exact x2 '
                             f'transposed conv), got {deconv_kernel_size}')
        self.num_keypoints = num_keypoints
        self.upsample_scale = upsample_scale
        self.loss_weight = loss_weight
        self.convs = nn.ModuleList([
            ConvModule(in_channels if i == 0 else conv_out_channels, conv_out_channels,
                       conv_kernel_size, padding=conv_kernel_size // 2, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg) for i in range(num_convs)])
        self.deconv_logits = nn.ConvTranspose2d(
            conv_out_channels if num_convs else in_channels, num_keypoints, deconv_kernel_size,
            stride=2, padding=deconv_kernel_size // 2 - 1)

    def init_weights(self) -> None:
        super().init_weights()
        # MSRA fill with zero biases, as Detectron's keypoint head.
        for m in [c.conv for c in self.convs] + [self.deconv_logits]:
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        """(P, C, S, S) RoI features -> (P, K, 4S, 4S) heatmap logits."""
        for conv in self.convs:
            x = conv(x)
        x = self.deconv_logits(x)
        return F.interpolate(x, scale_factor=float(self.upsample_scale), mode='bilinear',
                             align_corners=False)

    def heatmap_size(self, roi_feat_size: int) -> int:
        """M, the heatmap side for RoI features of side ``roi_feat_size``."""
        return roi_feat_size * 2 * self.upsample_scale

    def get_targets(self, rois_list: list[Tensor], gt_keypoints_list: list[Tensor],
                    size: int) -> tuple[Tensor, Tensor]:
        """Heatmap targets of RoIs from their matched ground truths' keypoints.

        Args:
            rois_list: Per image (P_i, 4) RoIs.
            gt_keypoints_list: Per image (P_i, K, 3), the keypoints of each RoI's ground truth.
            size: M, the heatmap side.

        Returns:
            ``targets`` (P, K) flat cell indices and ``valid`` (P, K), over all images.
        """
        pairs = [keypoints_to_heatmap_targets(kp, rois, size)
                 for rois, kp in zip(rois_list, gt_keypoints_list)]
        return torch.cat([p[0] for p in pairs]), torch.cat([p[1] for p in pairs])

    def loss(self, heatmaps: Tensor, targets: Tensor, valid: Tensor) -> dict:
        """``loss_keypoint``: the heatmap cross-entropy of the valid keypoints, weighted."""
        return dict(loss_keypoint=self.loss_weight * keypoint_heatmap_loss(heatmaps, targets,
                                                                            valid))

    def predict_by_feat(self, heatmaps: Tensor, results: InstanceData) -> InstanceData:
        """Add ``keypoints`` (N, K, 2) and ``keypoint_scores`` (N, K) to detections whose
        ``bboxes`` (N, 4) are in the pixels the heatmaps were pooled in."""
        if len(results) == 0:
            results.keypoints = results.bboxes.new_zeros((0, self.num_keypoints, 2))
            results.keypoint_scores = results.bboxes.new_zeros((0, self.num_keypoints))
            return results
        results.keypoints, results.keypoint_scores = heatmaps_to_keypoints(heatmaps,
                                                                           results.bboxes)
        return results
