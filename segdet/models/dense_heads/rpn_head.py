"""RPNHead: objectness and box deltas for every anchor; proposals by per-level NMS.

Keys and semantics follow mmdetection 3.x (``rpn_conv``, ``rpn_cls``, ``rpn_reg``; sigmoid
objectness with label 0 = object; losses ``loss_rpn_cls`` and ``loss_rpn_bbox``).
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor, nn

from segdet.ops import batched_nms
from segdet.registry import MODELS, TASK_UTILS
from segdet.structures import SampleList
from segdet.structures.bbox import box_sizes, boxes_to_original


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


def select_proposals(scores: list[Tensor], deltas: list[Tensor], priors: list[Tensor],
                     nms_pre: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Keep the ``nms_pre`` best anchors of each level and concatenate the levels.

    Args:
        scores: Per level (n_i,) objectness probabilities.
        deltas: Per level (n_i, 4) box deltas.
        priors: Per level (n_i, 4) anchors.
        nms_pre: Anchors kept per level (<= 0 keeps all).

    Returns:
        Scores (M,), deltas (M, 4), priors (M, 4) and level ids (M,).
    """
    kept_scores, kept_deltas, kept_priors, level_ids = [], [], [], []
    for level, (score, delta, prior) in enumerate(zip(scores, deltas, priors)):
        if 0 < nms_pre < score.numel():
            score, order = score.topk(nms_pre)
            delta, prior = delta[order], prior[order]
        kept_scores.append(score)
        kept_deltas.append(delta)
        kept_priors.append(prior)
        level_ids.append(score.new_full((score.numel(), ), level, dtype=torch.long))
    return (torch.cat(kept_scores), torch.cat(kept_deltas), torch.cat(kept_priors),
            torch.cat(level_ids))


def nms_proposals(bboxes: Tensor, scores: Tensor, level_ids: Tensor, iou_threshold: float,
                  max_per_img: int, min_bbox_size: float = 0) -> tuple[Tensor, Tensor]:
    """Drop boxes not larger than ``min_bbox_size``, run NMS within each level, keep the
    ``max_per_img`` best (highest score first).

    Returns:
        (K, 4) boxes and (K,) scores.
    """
    if min_bbox_size >= 0:
        w, h = box_sizes(bboxes)
        valid = (w > min_bbox_size) & (h > min_bbox_size)
        if not bool(valid.all()):
            bboxes, scores, level_ids = bboxes[valid], scores[valid], level_ids[valid]
    if bboxes.numel() == 0:
        return bboxes.view(0, 4), scores
    keep = batched_nms(bboxes.float(), scores.float(), level_ids, iou_threshold)
    keep = keep[:max_per_img] if max_per_img > 0 else keep
    return bboxes[keep], scores[keep]


@MODELS.register_module()
class RPNHead(BaseModule):
    """Region proposal network head (one shared 3x3 conv, then 1x1 objectness and deltas).

    Args:
        in_channels: Channels of each input level.
        num_classes: Must be 1 (objectness).
        feat_channels: Channels of ``rpn_conv``.
        num_convs: Stacked 3x3 convs (1 in all mmdet configs; >1 names them ``rpn_conv.i``).
        anchor_generator, bbox_coder: ``TASK_UTILS`` configs.
        loss_cls, loss_bbox: ``MODELS`` configs of the objectness and box losses.
        reg_decoded_bbox: Regress decoded boxes (IoU-type losses); segdet needs False.
        train_cfg: ``assigner``, ``sampler``, ``allowed_border``, ``pos_weight``.
        test_cfg: ``nms_pre``, ``max_per_img``, ``nms=dict(iou_threshold)``, ``min_bbox_size``.
    """

    def __init__(self, in_channels: int, num_classes: int = 1, feat_channels: int = 256,
                 num_convs: int = 1,
                 anchor_generator: dict = dict(type='AnchorGenerator', scales=[8],
                                               ratios=[0.5, 1.0, 2.0],
                                               strides=[4, 8, 16, 32, 64]),
                 bbox_coder: dict = dict(type='DeltaXYWHBBoxCoder'),
                 loss_cls: dict = dict(type='CrossEntropyLoss', use_sigmoid=True,
                                       loss_weight=1.0),
                 loss_bbox: dict = dict(type='L1Loss', loss_weight=1.0),
                 reg_decoded_bbox: bool = False, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Conv2d', std=0.01)
                 ) -> None:
        super().__init__(init_cfg)
        if num_classes != 1:
            raise ValueError(f'RPNHead: num_classes must be 1 (objectness), got {num_classes}')
        if reg_decoded_bbox:
            raise NotImplementedError('RPNHead: reg_decoded_bbox=True is not supported')
        if not loss_cls.get('use_sigmoid', False):
            raise ValueError('RPNHead: loss_cls must be a sigmoid loss (use_sigmoid=True)')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.feat_channels = feat_channels
        self.num_convs = num_convs
        self.prior_generator = TASK_UTILS.build(anchor_generator)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.train_cfg = ConfigDict(train_cfg) if train_cfg is not None else None
        self.test_cfg = ConfigDict(test_cfg) if test_cfg is not None else None
        if self.train_cfg is not None:
            self.assigner = TASK_UTILS.build(self.train_cfg['assigner'])
            self.sampler = TASK_UTILS.build(self.train_cfg['sampler'])
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        if num_convs > 1:
            convs = []
            for i in range(num_convs):
                convs += [nn.Conv2d(in_channels if i == 0 else feat_channels, feat_channels,
                                    3, padding=1), nn.ReLU(inplace=True)]
            self.rpn_conv = nn.Sequential(*convs)
        else:
            self.rpn_conv = nn.Conv2d(in_channels, feat_channels, 3, padding=1)
        self.rpn_cls = nn.Conv2d(feat_channels, self.num_base_priors, 1)
        self.rpn_reg = nn.Conv2d(feat_channels, self.num_base_priors * 4, 1)

    def forward(self, x: Sequence[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Per level (B, C, H, W) features -> objectness (B, A, H, W) and deltas (B, 4A, H, W)."""
        cls_scores, bbox_preds = [], []
        for feat in x:
            feat = F.relu(self.rpn_conv(feat))
            cls_scores.append(self.rpn_cls(feat))
            bbox_preds.append(self.rpn_reg(feat))
        return cls_scores, bbox_preds

    # ----------------------------------------------------------------------------- training
    def _targets_single(self, anchors: Tensor, valid: Tensor, gt: InstanceData,
                        gt_ignore: Optional[InstanceData], img_meta: dict
                        ) -> tuple[Tensor, Tensor, Tensor, Tensor, int]:
        """Labels (N,), label weights (N,), box targets (N, 4), box weights (N, 4) and the
        number of sampled anchors of one image."""
        num = anchors.shape[0]
        inside = anchor_inside_flags(anchors, valid, img_meta['img_shape'],
                                     self.train_cfg.get('allowed_border', -1))
        labels = anchors.new_full((num, ), self.num_classes, dtype=torch.long)
        label_weights = anchors.new_zeros(num)
        bbox_targets = anchors.new_zeros((num, 4))
        bbox_weights = anchors.new_zeros((num, 4))
        if not bool(inside.any()):
            return labels, label_weights, bbox_targets, bbox_weights, 0
        inside_inds = torch.nonzero(inside).flatten()
        pred = InstanceData(priors=anchors[inside])
        gt_objects = InstanceData(bboxes=gt.bboxes, labels=torch.zeros_like(gt.labels))
        assign = self.assigner.assign(pred, gt_objects, gt_ignore)
        sampling = self.sampler.sample(assign, pred, gt_objects)
        pos = inside_inds[sampling.pos_inds]
        neg = inside_inds[sampling.neg_inds]
        pos_weight = self.train_cfg.get('pos_weight', -1)
        if pos.numel():
            bbox_targets[pos] = self.bbox_coder.encode(sampling.pos_priors,
                                                       sampling.pos_gt_bboxes)
            bbox_weights[pos] = 1.0
            labels[pos] = 0
            label_weights[pos] = 1.0 if pos_weight <= 0 else pos_weight
        label_weights[neg] = 1.0
        return labels, label_weights, bbox_targets, bbox_weights, pos.numel() + neg.numel()

    def loss_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                     batch_gt_instances: list[InstanceData], batch_img_metas: list[dict],
                     batch_gt_instances_ignore: Optional[list] = None) -> dict:
        """Sampled-anchor objectness and box losses over all levels and images."""
        featmap_sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        device = cls_scores[0].device
        anchors = torch.cat(self.prior_generator.grid_priors(featmap_sizes, device=device))
        num_imgs = len(batch_img_metas)
        ignores = batch_gt_instances_ignore or [None] * num_imgs
        targets = []
        for i in range(num_imgs):
            pad = batch_img_metas[i].get('pad_shape', batch_img_metas[i]['img_shape'])
            valid = torch.cat(self.prior_generator.valid_flags(featmap_sizes, pad, device))
            targets.append(self._targets_single(anchors, valid, batch_gt_instances[i],
                                                ignores[i], batch_img_metas[i]))
        labels, label_weights, bbox_targets, bbox_weights, counts = zip(*targets)
        avg_factor = max(sum(counts), 1)
        cls_flat = torch.cat([c.permute(0, 2, 3, 1).reshape(num_imgs, -1) for c in cls_scores],
                             dim=1).reshape(-1, 1)
        reg_flat = torch.cat([b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4)
                              for b in bbox_preds], dim=1).reshape(-1, 4)
        loss_cls = self.loss_cls(cls_flat.float(), torch.cat(labels), torch.cat(label_weights),
                                 avg_factor=avg_factor)
        loss_bbox = self.loss_bbox(reg_flat.float(), torch.cat(bbox_targets),
                                   torch.cat(bbox_weights), avg_factor=avg_factor)
        return dict(loss_rpn_cls=loss_cls, loss_rpn_bbox=loss_bbox)

    def loss_and_predict(self, x: Sequence[Tensor], batch_data_samples: SampleList,
                         proposal_cfg: Optional[dict] = None
                         ) -> tuple[dict, list[InstanceData]]:
        """RPN losses against the samples' ``gt_instances`` and the (detached) proposals."""
        cls_scores, bbox_preds = self(x)
        gts = [s.gt_instances for s in batch_data_samples]
        ignores = [s.ignored_instances if 'ignored_instances' in s else None
                   for s in batch_data_samples]
        metas = [s.metainfo for s in batch_data_samples]
        losses = self.loss_by_feat(cls_scores, bbox_preds, gts, metas, ignores)
        proposals = self.predict_by_feat([c.detach() for c in cls_scores],
                                         [b.detach() for b in bbox_preds], metas,
                                         cfg=proposal_cfg)
        return losses, proposals

    # ---------------------------------------------------------------------------- inference
    def predict(self, x: Sequence[Tensor], batch_data_samples: SampleList,
                rescale: bool = False) -> list[InstanceData]:
        """Proposals of each image (``bboxes`` (K, 4) in input pixels, ``scores`` (K,))."""
        cls_scores, bbox_preds = self(x)
        metas = [s.metainfo for s in batch_data_samples]
        return self.predict_by_feat(cls_scores, bbox_preds, metas, rescale=rescale)

    def predict_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                        batch_img_metas: list[dict], cfg: Optional[dict] = None,
                        rescale: bool = False) -> list[InstanceData]:
        """Decode, keep ``nms_pre`` per level, NMS per level, keep ``max_per_img``."""
        cfg = ConfigDict(cfg) if cfg is not None else self.test_cfg
        if cfg is None:
            raise ValueError('RPNHead: no proposal settings (test_cfg.rpn / '
                             'train_cfg.rpn_proposal)')
        featmap_sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        priors = self.prior_generator.grid_priors(featmap_sizes, dtype=cls_scores[0].dtype,
                                                  device=cls_scores[0].device)
        results = []
        for i, meta in enumerate(batch_img_metas):
            scores = [c[i].permute(1, 2, 0).reshape(-1).float().sigmoid() for c in cls_scores]
            deltas = [b[i].permute(1, 2, 0).reshape(-1, 4).float() for b in bbox_preds]
            score, delta, prior, level = select_proposals(scores, deltas, priors,
                                                          cfg.get('nms_pre', -1))
            bboxes = self.bbox_coder.decode(prior.float(), delta, max_shape=meta['img_shape'])
            bboxes, score = nms_proposals(bboxes, score, level, cfg['nms']['iou_threshold'],
                                          cfg.get('max_per_img', 1000),
                                          cfg.get('min_bbox_size', 0))
            if rescale and 'scale_factor' in meta:
                bboxes = boxes_to_original(bboxes, meta)
            results.append(InstanceData(bboxes=bboxes, scores=score,
                                        labels=score.new_zeros(score.shape, dtype=torch.long)))
        return results
