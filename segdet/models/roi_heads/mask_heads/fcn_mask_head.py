"""FCNMaskHead: per-RoI, per-class mask logits from a small FCN (Mask R-CNN)."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.registry import MODELS
from segdet.structures.bbox import boxes_to_original
from segdet.structures.mask import (crop_and_resize_masks, paste_masks_detectron,
                                    paste_masks_in_image)
from segdet.utils import as_config_dict

# test_cfg.mask_paste: how RoI masks are put into the image (see _predict_by_feat_single).
MASK_PASTE = {'grid_sample': paste_masks_in_image, 'detectron': paste_masks_detectron}


@MODELS.register_module()
class FCNMaskHead(BaseModule):
    """``convs`` (3x3 ConvModules), 2x ``upsample`` (deconv + ReLU), 1x1 ``conv_logits``.

    Input (P, in_channels, S, S) RoI features; output (P, num_classes, 2S, 2S) logits.

    Args:
        num_convs: Number of 3x3 convs (4 for FPN, 0 for C4).
        roi_feat_size: S.
        in_channels, conv_out_channels: Widths.
        num_classes: C; ``class_agnostic`` predicts one mask per RoI instead.
        upsample_cfg: ``dict(type='deconv', scale_factor=2)`` (only deconv is supported).
        conv_cfg, norm_cfg: Of the convs (GN in the Detectron GN recipe).
        loss_mask: ``dict(type='CrossEntropyLoss', use_mask=True)``.
    """

    def __init__(self, num_convs: int = 4, roi_feat_size: int = 14, in_channels: int = 256,
                 conv_kernel_size: int = 3, conv_out_channels: int = 256,
                 num_classes: int = 80, class_agnostic: bool = False,
                 upsample_cfg: dict = dict(type='deconv', scale_factor=2),
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 predictor_cfg: dict = dict(type='Conv'),
                 loss_mask: dict = dict(type='CrossEntropyLoss', use_mask=True,
                                        loss_weight=1.0),
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        if upsample_cfg.get('type') != 'deconv' or upsample_cfg.get('scale_factor', 2) != 2:
            raise NotImplementedError("FCNMaskHead: only upsample_cfg=dict(type='deconv', "
                                      'scale_factor=2) is supported')
        self.num_convs = num_convs
        self.roi_feat_size = roi_feat_size
        self.in_channels = in_channels
        self.conv_out_channels = conv_out_channels
        self.num_classes = num_classes
        self.class_agnostic = class_agnostic
        self.loss_mask = MODELS.build(loss_mask)
        pad = (conv_kernel_size - 1) // 2
        self.convs = nn.ModuleList([
            ConvModule(in_channels if i == 0 else conv_out_channels, conv_out_channels,
                       conv_kernel_size, padding=pad, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
            for i in range(num_convs)])
        up_in = conv_out_channels if num_convs > 0 else in_channels
        self.upsample = nn.ConvTranspose2d(up_in, conv_out_channels, 2, stride=2)
        self.relu = nn.ReLU(inplace=True)
        self.conv_logits = nn.Conv2d(conv_out_channels, 1 if class_agnostic else num_classes,
                                     1)

    def init_weights(self) -> None:
        super().init_weights()
        for m in (self.upsample, self.conv_logits):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        """(P, C, S, S) -> (P, num_classes, 2S, 2S) mask logits."""
        for conv in self.convs:
            x = conv(x)
        return self.conv_logits(self.relu(self.upsample(x)))

    def get_targets(self, sampling_results: list, batch_gt_instances: list[InstanceData],
                    rcnn_train_cfg: dict) -> Tensor:
        """(P, mask_size, mask_size) 0/1 targets: each positive RoI's crop of its gt mask."""
        size = rcnn_train_cfg['mask_size']
        targets = []
        for res, gt in zip(sampling_results, batch_gt_instances):
            masks = gt.masks
            if not isinstance(masks, Tensor):
                masks = torch.as_tensor(masks)
            targets.append(crop_and_resize_masks(masks.to(res.pos_priors.device),
                                                 res.pos_priors, res.pos_assigned_gt_inds,
                                                 size))
        return torch.cat(targets)

    def loss(self, mask_preds: Tensor, mask_targets: Tensor, pos_labels: Tensor) -> dict:
        """``loss_mask``: BCE of each positive RoI on its class's channel."""
        if mask_preds.size(0) == 0:
            return dict(loss_mask=mask_preds.sum() * 0)
        labels = pos_labels.new_zeros(pos_labels.shape) if self.class_agnostic else pos_labels
        return dict(loss_mask=self.loss_mask(mask_preds.float(), mask_targets, labels))

    def loss_and_target(self, mask_preds: Tensor, sampling_results: list,
                        batch_gt_instances: list[InstanceData], rcnn_train_cfg: dict) -> dict:
        """Mask targets of the positive RoIs and the loss against them (mmdetection 3.x's
        entry point of mask heads).

        Args:
            mask_preds: (P, num_classes, 2S, 2S) logits of the positive RoIs of all images.
            sampling_results: One ``SamplingResult`` per image.
            batch_gt_instances: Per image ground truth with ``masks`` (G, H, W).
            rcnn_train_cfg: ``mask_size``.

        Returns:
            ``dict(loss_mask={'loss_mask': loss}, mask_targets=(P, mask_size, mask_size))``.
        """
        targets = self.get_targets(sampling_results, batch_gt_instances, rcnn_train_cfg)
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        return dict(loss_mask=self.loss(mask_preds, targets, pos_labels), mask_targets=targets)

    def predict_by_feat(self, mask_preds: Sequence[Tensor], results_list: list[InstanceData],
                        batch_img_metas: list[dict], rcnn_test_cfg: dict,
                        rescale: bool = False, activate_map: bool = False
                        ) -> list[InstanceData]:
        """Add ``masks`` (N, H, W) bool to each image's detections.

        Args:
            mask_preds: Per image (N_i, num_classes, 2S, 2S) logits of its detections
                (probabilities with ``activate_map``).
            results_list: Per image detections (``bboxes`` in input pixels, ``labels``);
                each gets its ``masks`` set.
            batch_img_metas: Per image metainfo.
            rcnn_test_cfg: ``mask_thr_binary``; ``mask_paste``: ``'grid_sample'``
                (default, mmdetection's pasting) or ``'detectron'`` (Detectron's,
                maskrcnn-benchmark's and torchvision's, for their converted weights; see
                ``segdet.structures.mask.paste_masks_detectron``).
            rescale: Paste at ``ori_shape`` (boxes divided by ``scale_factor``) instead of
                ``img_shape``.

        Returns:
            ``results_list``, each with ``masks``.
        """
        if not len(mask_preds) == len(results_list) == len(batch_img_metas):
            raise ValueError(f'{type(self).__name__}.predict_by_feat: got {len(mask_preds)} '
                             f'mask sets, {len(results_list)} result sets and '
                             f'{len(batch_img_metas)} images')
        for preds, results, meta in zip(mask_preds, results_list, batch_img_metas):
            if len(results):
                results.masks = self._predict_by_feat_single(
                    preds, results.bboxes, results.labels, meta, rcnn_test_cfg,
                    rescale=rescale, activate_map=activate_map)
            else:
                shape = meta['ori_shape'] if rescale else meta['img_shape']
                results.masks = torch.zeros((0, int(shape[0]), int(shape[1])), dtype=torch.bool,
                                            device=results.bboxes.device)
        return results_list

    def _predict_by_feat_single(self, mask_preds: Tensor, bboxes: Tensor, labels: Tensor,
                                img_meta: dict, rcnn_test_cfg: dict, rescale: bool = False,
                                activate_map: bool = False) -> Tensor:
        """(N, H, W) bool masks of one image's N detections.

        ``bboxes`` (N, 4) are in input pixels; with ``rescale`` they are mapped to the
        original image (``/ scale_factor``) and the masks are pasted at ``ori_shape``.
        """
        cfg = as_config_dict(rcnn_test_cfg, 'rcnn_test_cfg')
        if rescale:
            img_h, img_w = img_meta['ori_shape'][:2]
            bboxes = boxes_to_original(bboxes, img_meta)
        else:
            img_h, img_w = img_meta['img_shape'][:2]
        probs = mask_preds.float() if activate_map else mask_preds.float().sigmoid()
        if not self.class_agnostic:
            probs = probs[torch.arange(probs.size(0), device=probs.device), labels]
        else:
            probs = probs[:, 0]
        mode = cfg.get('mask_paste', 'grid_sample')
        if mode not in MASK_PASTE:
            raise ValueError(f'{type(self).__name__}: test_cfg.mask_paste must be one of '
                             f'{sorted(MASK_PASTE)}, got {mode!r}')
        return MASK_PASTE[mode](probs, bboxes, int(img_h), int(img_w),
                                cfg.get('mask_thr_binary', 0.5))
