"""AnchorHead: a dense head over anchors (targets by assigner + sampler, per-level losses).

A one-stage head (RetinaNet-style) is a subclass that overrides ``_init_layers`` and
``forward_single``; the RPN additionally makes its ground truth class-agnostic. Conventions
follow mmdetection 3.x: sigmoid classification has ``num_classes`` channels per anchor and the
background label ``num_classes``; softmax has one more channel, background last.
"""
from typing import Optional, Sequence, Union

import torch
from mmengine.structures import InstanceData
from torch import Tensor, nn

from segdet.registry import MODELS, TASK_UTILS
from segdet.utils import as_config_dict
from segdet.utils.arg_checks import check_int

from .base_dense_head import BaseDenseHead


def anchor_inside_flags(anchors: Tensor, valid_flags: Tensor, img_shape: Sequence[int],
                        allowed_border: float = 0) -> Tensor:
    """Anchors that may be trained: valid (not on padding) and, when ``allowed_border >= 0``,
    inside the image widened by ``allowed_border`` pixels.

    Args:
        anchors: (N, 4) anchors; valid_flags: (N,) bool; img_shape: (H, W).
    """
    if allowed_border < 0:
        return valid_flags
    h, w = img_shape[:2]
    return (valid_flags & (anchors[:, 0] >= -allowed_border)
            & (anchors[:, 1] >= -allowed_border) & (anchors[:, 2] < w + allowed_border)
            & (anchors[:, 3] < h + allowed_border))


def images_to_levels(per_image: list[Tensor], num_level_anchors: Sequence[int]) -> list[Tensor]:
    """Per-image targets over all levels -> per-level targets of the batch.

    Args:
        per_image: B tensors of shape (N, ...), N = sum(num_level_anchors).
        num_level_anchors: Anchors of each level.

    Returns:
        One (B * n_l, ...) tensor per level, image-major (as the heads' outputs are flattened).
    """
    stacked = torch.stack(per_image, 0)
    return [level.reshape(-1, *level.shape[2:])
            for level in stacked.split(list(num_level_anchors), dim=1)]


@MODELS.register_module()
class AnchorHead(BaseDenseHead):
    """A 1x1 classification and a 1x1 regression conv over each level's anchors.

    Args:
        num_classes: Object classes (background excluded).
        in_channels: Channels of each input level.
        feat_channels: Channels of hidden layers of subclasses.
        anchor_generator, bbox_coder: ``TASK_UTILS`` configs.
        reg_decoded_bbox: Regress decoded boxes against ground-truth boxes (IoU-type losses)
            instead of deltas against encoded targets.
        loss_cls, loss_bbox: ``MODELS`` configs; ``loss_cls.use_sigmoid`` chooses sigmoid
            (``num_classes`` channels) or softmax (``num_classes + 1``) classification.
        train_cfg: ``assigner``, ``sampler`` (``PseudoSampler`` when absent),
            ``allowed_border`` (-1: anchors outside the image are trained too), ``pos_weight``
            (<= 0: 1).
        test_cfg: ``nms_pre``, ``score_thr``, ``nms=dict(iou_threshold)``, ``max_per_img``,
            ``min_bbox_size``.
    """

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256,
                 anchor_generator: dict = dict(type='AnchorGenerator', scales=[8, 16, 32],
                                               ratios=[0.5, 1.0, 2.0],
                                               strides=[4, 8, 16, 32, 64]),
                 bbox_coder: dict = dict(type='DeltaXYWHBBoxCoder', clip_border=True,
                                         target_means=(0., 0., 0., 0.),
                                         target_stds=(1.0, 1.0, 1.0, 1.0)),
                 reg_decoded_bbox: bool = False,
                 loss_cls: dict = dict(type='CrossEntropyLoss', use_sigmoid=True,
                                       loss_weight=1.0),
                 loss_bbox: dict = dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = dict(type='Normal', layer='Conv2d',
                                                              std=0.01)) -> None:
        super().__init__(init_cfg)
        name = type(self).__name__
        check_int(num_classes, f'{name}: num_classes', 1)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.use_sigmoid_cls = bool(loss_cls.get('use_sigmoid', False))
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        self.reg_decoded_bbox = reg_decoded_bbox
        self.prior_generator = TASK_UTILS.build(anchor_generator)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.train_cfg = as_config_dict(train_cfg, f'{name}: train_cfg')
        self.test_cfg = as_config_dict(test_cfg, f'{name}: test_cfg')
        if self.train_cfg is not None:
            if 'assigner' not in self.train_cfg:
                raise KeyError(f'{name}: train_cfg has no assigner')
            self.assigner = TASK_UTILS.build(self.train_cfg['assigner'])
            self.sampler = TASK_UTILS.build(self.train_cfg.get('sampler',
                                                               dict(type='PseudoSampler')))
        counts = set(self.prior_generator.num_base_priors)
        if len(counts) != 1:
            raise ValueError(f'{name}: every level needs the same number of anchors per cell, '
                             f'got {self.prior_generator.num_base_priors}')
        self.num_base_priors = counts.pop()
        self._init_layers()

    @property
    def num_anchors(self) -> int:
        """Anchors per grid cell (mmdetection's older name of ``num_base_priors``)."""
        return self.num_base_priors

    def _init_layers(self) -> None:
        """``conv_cls`` and ``conv_reg``; subclasses build their own layers here."""
        self.conv_cls = nn.Conv2d(self.in_channels,
                                  self.num_base_priors * self.cls_out_channels, 1)
        self.conv_reg = nn.Conv2d(self.in_channels,
                                  self.num_base_priors * self.bbox_coder.encode_size, 1)

    def forward_single(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """One level: (B, C, H, W) -> scores (B, A * cls_out_channels, H, W) and deltas
        (B, A * 4, H, W)."""
        return self.conv_cls(x), self.conv_reg(x)

    def forward(self, x: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Per level features -> per level class scores and box deltas."""
        cls_scores, bbox_preds = [], []
        for feat in x:
            cls_score, bbox_pred = self.forward_single(feat)
            cls_scores.append(cls_score)
            bbox_preds.append(bbox_pred)
        return cls_scores, bbox_preds

    # ---------------------------------------------------------------------------- targets
    def get_anchors(self, featmap_sizes: Sequence[Sequence[int]], batch_img_metas: list[dict],
                    device: Union[str, torch.device] = 'cpu'
                    ) -> tuple[list[Tensor], list[list[Tensor]]]:
        """Anchors of every level (shared by the batch) and, per image, per level, whether
        each anchor's cell lies inside the image rather than on batch padding.

        Returns:
            ``(anchors, valid_flags)``: a list of (n_l, 4) tensors, and per image a list of
            (n_l,) bool tensors.
        """
        anchors = self.prior_generator.grid_priors(featmap_sizes, device=device)
        valid_flags = []
        for meta in batch_img_metas:
            pad = meta.get('pad_shape', meta['img_shape'])
            valid_flags.append(self.prior_generator.valid_flags(featmap_sizes, pad, device))
        return anchors, valid_flags

    def _get_targets_single(self, flat_anchors: Tensor, valid_flags: Tensor,
                            gt_instances: InstanceData, img_meta: dict,
                            gt_instances_ignore: Optional[InstanceData] = None
                            ) -> tuple[Tensor, Tensor, Tensor, Tensor, object]:
        """Targets of one image's anchors (all levels concatenated).

        Args:
            flat_anchors: (N, 4) anchors; valid_flags: (N,) bool.
            gt_instances: ``bboxes`` (G, 4) and ``labels`` (G,).
            img_meta: Metainfo (``img_shape``).
            gt_instances_ignore: Ignore regions (``bboxes``), or None.

        Returns:
            Labels (N,) (background ``num_classes``), label weights (N,), box targets (N, 4)
            (deltas, or boxes with ``reg_decoded_bbox``), box weights (N, 4), and the
            sampling result (None when no anchor lies inside the image).
        """
        num = flat_anchors.shape[0]
        labels = flat_anchors.new_full((num, ), self.num_classes, dtype=torch.long)
        label_weights = flat_anchors.new_zeros(num)
        bbox_targets = flat_anchors.new_zeros((num, 4))
        bbox_weights = flat_anchors.new_zeros((num, 4))
        inside = anchor_inside_flags(flat_anchors, valid_flags, img_meta['img_shape'],
                                     self.train_cfg.get('allowed_border', -1))
        if not bool(inside.any()):
            return labels, label_weights, bbox_targets, bbox_weights, None
        inside_inds = torch.nonzero(inside).flatten()
        pred = InstanceData(priors=flat_anchors[inside])
        assign = self.assigner.assign(pred, gt_instances, gt_instances_ignore)
        sampling = self.sampler.sample(assign, pred, gt_instances)
        pos = inside_inds[sampling.pos_inds]
        neg = inside_inds[sampling.neg_inds]
        if pos.numel():
            bbox_targets[pos] = (sampling.pos_gt_bboxes.to(bbox_targets.dtype)
                                 if self.reg_decoded_bbox else
                                 self.bbox_coder.encode(sampling.pos_priors,
                                                        sampling.pos_gt_bboxes))
            bbox_weights[pos] = 1.0
            labels[pos] = sampling.pos_gt_labels.long()
            pos_weight = self.train_cfg.get('pos_weight', -1)
            label_weights[pos] = 1.0 if pos_weight <= 0 else pos_weight
        label_weights[neg] = 1.0
        return labels, label_weights, bbox_targets, bbox_weights, sampling

    def get_targets(self, anchors: list[Tensor], valid_flags: list[list[Tensor]],
                    batch_gt_instances: list[InstanceData], batch_img_metas: list[dict],
                    batch_gt_instances_ignore: Optional[list] = None
                    ) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor], int]:
        """Targets of the batch, split by level.

        Returns:
            Per level: labels (B * n_l,), label weights (B * n_l,), box targets
            (B * n_l, 4), box weights (B * n_l, 4); and ``avg_factor``, the sum of the
            sampling results' ``avg_factor`` (at least 1).
        """
        num_imgs = len(batch_img_metas)
        ignores = batch_gt_instances_ignore or [None] * num_imgs
        flat_anchors = torch.cat(anchors)
        per_image = [self._get_targets_single(flat_anchors, torch.cat(valid_flags[i]),
                                              batch_gt_instances[i], batch_img_metas[i],
                                              ignores[i])
                     for i in range(num_imgs)]
        labels, label_weights, bbox_targets, bbox_weights, samplings = zip(*per_image)
        avg_factor = max(sum(s.avg_factor for s in samplings if s is not None), 1)
        counts = [a.shape[0] for a in anchors]
        return (images_to_levels(list(labels), counts),
                images_to_levels(list(label_weights), counts),
                images_to_levels(list(bbox_targets), counts),
                images_to_levels(list(bbox_weights), counts), avg_factor)

    # ----------------------------------------------------------------------------- losses
    def loss_by_feat_single(self, cls_score: Tensor, bbox_pred: Tensor, anchors: Tensor,
                            labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                            bbox_weights: Tensor, avg_factor: float) -> tuple[Tensor, Tensor]:
        """Classification and box losses of one level.

        Args:
            cls_score: (B, A * cls_out_channels, H, W); bbox_pred: (B, A * 4, H, W).
            anchors: (B * H * W * A, 4) anchors, image-major.
            labels, label_weights: (B * H * W * A,); bbox_targets, bbox_weights: (..., 4).
            avg_factor: Divisor of both losses.
        """
        cls_flat = cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels).float()
        loss_cls = self.loss_cls(cls_flat, labels, label_weights, avg_factor=avg_factor)
        reg_flat = bbox_pred.permute(0, 2, 3, 1).reshape(-1, self.bbox_coder.encode_size)
        reg_flat = reg_flat.float()
        if self.reg_decoded_bbox:
            reg_flat = self.bbox_coder.decode(anchors, reg_flat)
        loss_bbox = self.loss_bbox(reg_flat, bbox_targets, bbox_weights, avg_factor=avg_factor)
        return loss_cls, loss_bbox

    def loss_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                     batch_gt_instances: list[InstanceData], batch_img_metas: list[dict],
                     batch_gt_instances_ignore: Optional[list] = None) -> dict[str, Tensor]:
        """Losses over all levels and images.

        Returns:
            ``loss_cls`` and ``loss_bbox``: the per-level losses summed (each level divided by
            the batch's ``avg_factor``, so the sum equals one loss over all anchors).
        """
        if self.train_cfg is None:
            raise ValueError(f'{type(self).__name__}: computing losses needs a train_cfg '
                             '(assigner, sampler)')
        featmap_sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        device = cls_scores[0].device
        anchors, valid_flags = self.get_anchors(featmap_sizes, batch_img_metas, device)
        labels, label_weights, bbox_targets, bbox_weights, avg_factor = self.get_targets(
            anchors, valid_flags, batch_gt_instances, batch_img_metas,
            batch_gt_instances_ignore)
        num_imgs = len(batch_img_metas)
        losses_cls, losses_bbox = [], []
        for level in range(len(cls_scores)):
            level_anchors = anchors[level].repeat(num_imgs, 1)
            loss_cls, loss_bbox = self.loss_by_feat_single(
                cls_scores[level], bbox_preds[level], level_anchors, labels[level],
                label_weights[level], bbox_targets[level], bbox_weights[level], avg_factor)
            losses_cls.append(loss_cls)
            losses_bbox.append(loss_bbox)
        return dict(loss_cls=sum(losses_cls), loss_bbox=sum(losses_bbox))
