"""BBoxHead: per-RoI class scores (C + 1, background last) and class-specific box deltas.

Targets, losses and post-processing follow mmdetection 3.x: softmax CE averaged over the
sampled RoIs, box loss on positives averaged over all sampled RoIs, per-class NMS.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor, nn

from segdet.models.losses import accuracy
from segdet.ops import batched_nms
from segdet.registry import MODELS, TASK_UTILS
from segdet.structures.bbox import boxes_to_original
from segdet.utils import as_config_dict


def multiclass_nms(bboxes: Tensor, scores: Tensor, score_thr: float, iou_threshold: float,
                   max_num: int = -1) -> tuple[Tensor, Tensor, Tensor]:
    """Per-class NMS of class-specific boxes.

    Args:
        bboxes: (N, 4 * C) class-specific or (N, 4) shared boxes.
        scores: (N, C + 1) class probabilities, background last (dropped).
        score_thr: Keep (box, class) pairs with a score strictly above this.
        iou_threshold: NMS IoU threshold within a class.
        max_num: Keep at most this many detections (<= 0: all).

    Returns:
        Boxes (K, 4), scores (K,) and labels (K,) in decreasing score order.
    """
    num_classes = scores.size(1) - 1
    if bboxes.shape[1] > 4:
        bboxes = bboxes.view(bboxes.size(0), -1, 4)
    else:
        bboxes = bboxes[:, None].expand(-1, num_classes, 4)
    scores = scores[:, :-1]
    labels = torch.arange(num_classes, device=scores.device).expand_as(scores)
    bboxes, scores, labels = bboxes.reshape(-1, 4), scores.reshape(-1), labels.reshape(-1)
    valid = scores > score_thr
    bboxes, scores, labels = bboxes[valid], scores[valid], labels[valid]
    if bboxes.numel() == 0:
        return bboxes.view(0, 4), scores, labels
    keep = batched_nms(bboxes.float(), scores.float(), labels, iou_threshold)
    if max_num > 0:
        keep = keep[:max_num]
    return bboxes[keep], scores[keep], labels[keep]


def empty_instances(reference: Tensor, with_masks: bool = False,
                    img_shape: Sequence[int] = (0, 0)) -> InstanceData:
    """Detections of an image with no box: (0, 4) boxes, (0,) scores/labels, (0, H, W) masks."""
    result = InstanceData(bboxes=reference.new_zeros((0, 4)), scores=reference.new_zeros(0),
                          labels=reference.new_zeros(0, dtype=torch.long))
    if with_masks:
        result.masks = torch.zeros((0, int(img_shape[0]), int(img_shape[1])), dtype=torch.bool,
                                   device=reference.device)
    return result


@MODELS.register_module()
class BBoxHead(BaseModule):
    """The simplest R-CNN box head: (optional average pooling,) ``fc_cls`` and ``fc_reg``.

    Input (R, in_channels, S, S) RoI features; output (R, C + 1) scores and (R, 4C) deltas
    (4 with ``reg_class_agnostic``).

    Args:
        with_avg_pool: Average-pool the RoI features first (the C4 head).
        roi_feat_size: S.
        in_channels: RoI feature channels.
        num_classes: C, background excluded.
        bbox_coder: ``TASK_UTILS`` config (deltas normalised by ``target_stds``).
        reg_class_agnostic: One box per RoI instead of one per class.
        loss_cls, loss_bbox: ``MODELS`` configs.
    """

    def __init__(self, with_avg_pool: bool = False, with_cls: bool = True,
                 with_reg: bool = True, roi_feat_size: int = 7, in_channels: int = 256,
                 num_classes: int = 80,
                 bbox_coder: dict = dict(type='DeltaXYWHBBoxCoder', clip_border=True,
                                         target_means=[0., 0., 0., 0.],
                                         target_stds=[0.1, 0.1, 0.2, 0.2]),
                 predict_box_type: str = 'hbox', reg_class_agnostic: bool = False,
                 reg_decoded_bbox: bool = False,
                 reg_predictor_cfg: dict = dict(type='Linear'),
                 cls_predictor_cfg: dict = dict(type='Linear'),
                 loss_cls: dict = dict(type='CrossEntropyLoss', use_sigmoid=False,
                                       loss_weight=1.0),
                 loss_bbox: dict = dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
                 init_cfg=None) -> None:
        if init_cfg is None:
            init_cfg = [dict(type='Normal', std=0.01, override=dict(name='fc_cls')),
                        dict(type='Normal', std=0.001, override=dict(name='fc_reg'))]
        super().__init__(init_cfg)
        if not (with_cls and with_reg):
            raise NotImplementedError('BBoxHead: with_cls and with_reg must both be True')
        if predict_box_type != 'hbox' or reg_decoded_bbox:
            raise NotImplementedError('BBoxHead: only predict_box_type="hbox" with '
                                      'reg_decoded_bbox=False is supported')
        for name, cfg in (('reg_predictor_cfg', reg_predictor_cfg),
                          ('cls_predictor_cfg', cls_predictor_cfg)):
            if cfg.get('type') != 'Linear':
                raise NotImplementedError(f"BBoxHead: {name} must be dict(type='Linear')")
        if loss_cls.get('use_sigmoid', False):
            raise NotImplementedError('BBoxHead: only softmax classification is supported')
        self.with_avg_pool = with_avg_pool
        self.roi_feat_size = (roi_feat_size, roi_feat_size) if isinstance(
            roi_feat_size, int) else tuple(roi_feat_size)
        self.roi_feat_area = self.roi_feat_size[0] * self.roi_feat_size[1]
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.reg_class_agnostic = reg_class_agnostic
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.avg_pool = nn.AvgPool2d(self.roi_feat_size) if with_avg_pool else None
        self.cls_last_dim = self.reg_last_dim = (
            in_channels if with_avg_pool else in_channels * self.roi_feat_area)
        self._build_branches()
        self.fc_cls = nn.Linear(self.cls_last_dim, num_classes + 1)
        self.fc_reg = nn.Linear(self.reg_last_dim, 4 if reg_class_agnostic else 4 * num_classes)

    def _build_branches(self) -> None:
        """Layers before the predictors (none here; see ``ConvFCBBoxHead``)."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(R, C, S, S) RoI features -> scores (R, num_classes + 1), deltas (R, 4 num_classes)."""
        if self.avg_pool is not None:
            x = self.avg_pool(x) if x.numel() else x.new_zeros((0, x.shape[1], 1, 1))
        x = x.flatten(1)
        return self.fc_cls(x), self.fc_reg(x)

    # ----------------------------------------------------------------------------- training
    def get_targets(self, sampling_results: list, rcnn_train_cfg: Optional[dict],
                    concat: bool = True) -> tuple:
        """Labels (R,), label weights (R,), box targets (R, 4), box weights (R, 4) of the
        sampled RoIs of all images (positives first within each image); with
        ``concat=False``, four lists with one tensor per image."""
        pos_weight = rcnn_train_cfg.get('pos_weight', -1) if rcnn_train_cfg else -1
        labels, label_weights, targets, weights = [], [], [], []
        for res in sampling_results:
            num_pos, num_neg = res.pos_priors.shape[0], res.neg_priors.shape[0]
            ref = res.pos_priors if num_pos else res.neg_priors
            lab = ref.new_full((num_pos + num_neg, ), self.num_classes, dtype=torch.long)
            lw = ref.new_zeros(num_pos + num_neg)
            tgt = ref.new_zeros((num_pos + num_neg, 4))
            tw = ref.new_zeros((num_pos + num_neg, 4))
            if num_pos:
                lab[:num_pos] = res.pos_gt_labels
                lw[:num_pos] = 1.0 if pos_weight <= 0 else pos_weight
                tgt[:num_pos] = self.bbox_coder.encode(res.pos_priors, res.pos_gt_bboxes)
                tw[:num_pos] = 1.0
            lw[num_pos:] = 1.0
            labels.append(lab)
            label_weights.append(lw)
            targets.append(tgt)
            weights.append(tw)
        if not concat:
            return labels, label_weights, targets, weights
        return torch.cat(labels), torch.cat(label_weights), torch.cat(targets), torch.cat(weights)

    def loss_and_target(self, cls_score: Tensor, bbox_pred: Tensor, rois: Tensor,
                        sampling_results: list, rcnn_train_cfg: Optional[dict],
                        concat: bool = True, reduction_override: Optional[str] = None) -> dict:
        """Targets of the sampled RoIs and the losses against them (mmdetection 3.x's entry
        point of box heads).

        Args:
            cls_score: (R, num_classes + 1) scores of the sampled RoIs of all images.
            bbox_pred: (R, 4 * num_classes) (or (R, 4)) deltas.
            rois: (R, 5) ``[batch_index, x1, y1, x2, y2]`` sampled RoIs.
            sampling_results: One ``SamplingResult`` per image (positives first).
            rcnn_train_cfg: ``pos_weight``.
            concat: Concatenate the targets over images (False is not supported by the loss).
            reduction_override: 'none', 'mean' or 'sum' instead of the losses' reduction.

        Returns:
            ``dict(loss_bbox={'loss_cls', 'acc', 'loss_bbox'}, bbox_targets=(labels,
            label_weights, bbox_targets, bbox_weights))``.
        """
        if not concat:
            raise ValueError(f'{type(self).__name__}.loss_and_target: the losses need '
                             'concatenated targets (concat=True)')
        targets = self.get_targets(sampling_results, rcnn_train_cfg, concat=True)
        losses = self.loss(cls_score, bbox_pred, rois, *targets,
                           reduction_override=reduction_override)
        return dict(loss_bbox=losses, bbox_targets=targets)

    def loss(self, cls_score: Tensor, bbox_pred: Tensor, rois: Tensor, labels: Tensor,
             label_weights: Tensor, bbox_targets: Tensor, bbox_weights: Tensor,
             reduction_override: Optional[str] = None) -> dict:
        """``loss_cls`` (averaged over sampled RoIs), ``acc`` (%), ``loss_bbox`` (positives'
        own-class deltas, averaged over all sampled RoIs).

        Args:
            cls_score: (R, num_classes + 1); bbox_pred: (R, 4 * num_classes) or (R, 4).
            rois: (R, 5) sampled RoIs (their boxes are not needed to regress deltas).
            labels, label_weights: (R,); bbox_targets, bbox_weights: (R, 4).
            reduction_override: Passed to both losses.
        """
        avg_factor = max(float((label_weights > 0).sum()), 1.0)
        losses = dict(loss_cls=self.loss_cls(cls_score.float(), labels, label_weights,
                                             avg_factor=avg_factor,
                                             reduction_override=reduction_override),
                      acc=accuracy(cls_score.detach(), labels))
        pos = (labels >= 0) & (labels < self.num_classes)
        if bool(pos.any()):
            if self.reg_class_agnostic:
                pos_pred = bbox_pred.view(bbox_pred.size(0), 4)[pos]
            else:
                pos_pred = bbox_pred.view(bbox_pred.size(0), -1, 4)[pos, labels[pos]]
            losses['loss_bbox'] = self.loss_bbox(pos_pred.float(), bbox_targets[pos],
                                                 bbox_weights[pos],
                                                 avg_factor=bbox_targets.size(0),
                                                 reduction_override=reduction_override)
        else:
            losses['loss_bbox'] = bbox_pred.sum() * 0
        return losses

    # ---------------------------------------------------------------------------- inference
    def predict_by_feat(self, rois: Sequence[Tensor], cls_scores: Sequence[Tensor],
                        bbox_preds: Sequence[Tensor], batch_img_metas: list[dict],
                        rcnn_test_cfg: Optional[dict] = None,
                        rescale: bool = False) -> list[InstanceData]:
        """Detections of each image from its RoIs and head outputs.

        Args:
            rois: Per image (R_i, 5) RoIs ``[batch_index, x1, y1, x2, y2]``.
            cls_scores: Per image (R_i, num_classes + 1) scores.
            bbox_preds: Per image (R_i, 4 * num_classes) (or (R_i, 4)) deltas.
            batch_img_metas: Per image metainfo (``img_shape``, ``scale_factor``).
            rcnn_test_cfg: ``score_thr``, ``nms=dict(iou_threshold)``, ``max_per_img``; None
                returns the decoded boxes and class probabilities of every RoI without NMS.
            rescale: Divide boxes by ``scale_factor`` (original-image pixels).

        Returns:
            Per image ``InstanceData`` with ``bboxes`` (N, 4), ``scores`` (N,) and ``labels``
            (N,) int64, highest score first (without ``rcnn_test_cfg``: ``bboxes``
            (R_i, 4 * num_classes) and ``scores`` (R_i, num_classes + 1)).
        """
        if not len(rois) == len(cls_scores) == len(bbox_preds) == len(batch_img_metas):
            raise ValueError(f'{type(self).__name__}.predict_by_feat: got {len(rois)} RoI '
                             f'sets, {len(cls_scores)} score sets, {len(bbox_preds)} delta '
                             f'sets and {len(batch_img_metas)} images')
        return [self._predict_by_feat_single(rois[i], cls_scores[i], bbox_preds[i],
                                             batch_img_metas[i], rescale=rescale,
                                             rcnn_test_cfg=rcnn_test_cfg)
                for i in range(len(batch_img_metas))]

    def _predict_by_feat_single(self, roi: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                                img_meta: dict, rescale: bool = False,
                                rcnn_test_cfg: Optional[dict] = None) -> InstanceData:
        """Detections of one image from its (R, 5) RoIs and head outputs.

        Boxes are decoded in input pixels, divided by ``scale_factor`` when ``rescale``,
        then filtered by ``score_thr`` and per-class NMS (``max_per_img`` kept).
        """
        scores = F.softmax(cls_score.float(), dim=-1)
        bboxes = self.bbox_coder.decode(roi[:, 1:].float(), bbox_pred.float(),
                                        max_shape=img_meta['img_shape'])
        if rescale and bboxes.size(0) > 0:
            bboxes = boxes_to_original(bboxes, img_meta)
        if rcnn_test_cfg is None:
            return InstanceData(bboxes=bboxes, scores=scores)
        cfg = as_config_dict(rcnn_test_cfg, 'rcnn_test_cfg')
        det_bboxes, det_scores, det_labels = multiclass_nms(
            bboxes, scores, cfg.get('score_thr', 0.05), cfg['nms']['iou_threshold'],
            cfg.get('max_per_img', 100))
        return InstanceData(bboxes=det_bboxes, scores=det_scores, labels=det_labels)

    # ------------------------------------------------------------------ cascade refinement
    def regress_by_class(self, priors: Tensor, label: Tensor, bbox_pred: Tensor,
                         img_meta: dict) -> Tensor:
        """Apply each RoI's deltas of class ``label`` to it (one refinement step).

        Args:
            priors: (R, 4) boxes (proposals or a previous stage's boxes).
            label: (R,) class of each RoI (ignored with ``reg_class_agnostic``).
            bbox_pred: (R, 4 * num_classes) deltas, or (R, 4) when class-agnostic.
            img_meta: Metainfo with ``img_shape`` (boxes are clipped to it).

        Returns:
            (R, 4) boxes.
        """
        if not self.reg_class_agnostic:
            if bbox_pred.shape[1] != 4 * self.num_classes:
                raise ValueError(f'{type(self).__name__}.regress_by_class: bbox_pred has '
                                 f'{bbox_pred.shape[1]} columns, expected 4 * num_classes = '
                                 f'{4 * self.num_classes}')
            bbox_pred = bbox_pred.view(bbox_pred.shape[0], -1, 4)[
                torch.arange(bbox_pred.shape[0], device=bbox_pred.device), label.long()]
        elif bbox_pred.shape[1] != 4:
            raise ValueError(f'{type(self).__name__}.regress_by_class: a class-agnostic head '
                             f'needs (R, 4) deltas, got {tuple(bbox_pred.shape)}')
        return self.bbox_coder.decode(priors, bbox_pred, max_shape=img_meta['img_shape'])

    def refine_bboxes(self, sampling_results: list, bbox_results: dict,
                      batch_img_metas: list[dict]) -> Optional[list[InstanceData]]:
        """Training-time boxes for the next stage of a cascade: every sampled RoI moved by
        the deltas of its target class (of its predicted class for background RoIs), the
        ground-truth boxes that were added as proposals left out.

        Args:
            sampling_results: One ``SamplingResult`` per image (its ``pos_is_gt``).
            bbox_results: ``rois`` (R, 5), ``cls_score`` (R, C + 1), ``bbox_pred`` and
                ``bbox_targets`` (whose first item is the (R,) labels), as
                ``StandardRoIHead.bbox_loss`` returns them.
            batch_img_metas: Per image metainfo (``img_shape``).

        Returns:
            Per image ``InstanceData`` with ``bboxes`` (R_i - G_i, 4); None when there are no
            RoIs.
        """
        cls_scores = bbox_results['cls_score']
        if cls_scores.numel() == 0:
            return None
        if cls_scores.shape[-1] == self.num_classes + 1:
            cls_scores = cls_scores[:, :-1]
        elif cls_scores.shape[-1] != self.num_classes:
            raise ValueError(f'{type(self).__name__}.refine_bboxes: cls_score has '
                             f'{cls_scores.shape[-1]} columns, expected num_classes '
                             f'({self.num_classes}) or num_classes + 1')
        rois, bbox_preds = bbox_results['rois'], bbox_results['bbox_pred']
        labels = bbox_results['bbox_targets'][0]
        labels = torch.where(labels == self.num_classes, cls_scores.argmax(1), labels)
        refined = []
        for i, (res, meta) in enumerate(zip(sampling_results, batch_img_metas)):
            inds = torch.nonzero(rois[:, 0] == i).flatten()
            boxes = self.regress_by_class(rois[inds, 1:], labels[inds], bbox_preds[inds], meta)
            keep = torch.ones(inds.numel(), dtype=torch.bool, device=boxes.device)
            pos_is_gt = res.pos_is_gt.bool().to(boxes.device)
            keep[:pos_is_gt.numel()] = ~pos_is_gt  # positives come first in each image
            refined.append(InstanceData(bboxes=boxes[keep]))
        return refined
