"""RPNHead: objectness and box deltas for every anchor; proposals by per-level NMS.

An ``AnchorHead`` with one class (objectness) and its own layers and post-processing. Keys and
semantics follow mmdetection 3.x (``rpn_conv``, ``rpn_cls``, ``rpn_reg``; sigmoid objectness
with label 0 = object; losses ``loss_rpn_cls`` and ``loss_rpn_bbox``).
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from segdet.ops import batched_nms
from segdet.registry import MODELS
from segdet.structures.bbox import box_sizes, boxes_to_original

from .anchor_head import AnchorHead


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
class RPNHead(AnchorHead):
    """Region proposal network head (one shared 3x3 conv, then 1x1 objectness and deltas).

    Args:
        in_channels: Channels of each input level.
        num_classes: Must be 1 (objectness).
        num_convs: Stacked 3x3 convs (1 in all mmdet configs; >1 names them ``rpn_conv.i``).
        feat_channels: Channels of ``rpn_conv``.
        anchor_generator, bbox_coder, loss_cls, loss_bbox, train_cfg: As ``AnchorHead``;
            ``loss_cls`` must be a sigmoid loss and ``reg_decoded_bbox`` False.
        test_cfg: ``nms_pre`` (per level), ``max_per_img``, ``nms=dict(iou_threshold)``,
            ``min_bbox_size``.
    """

    def __init__(self, in_channels: int, num_classes: int = 1, num_convs: int = 1,
                 feat_channels: int = 256,
                 anchor_generator: dict = dict(type='AnchorGenerator', scales=[8],
                                               ratios=[0.5, 1.0, 2.0],
                                               strides=[4, 8, 16, 32, 64]),
                 bbox_coder: dict = dict(type='DeltaXYWHBBoxCoder'),
                 loss_cls: dict = dict(type='CrossEntropyLoss', use_sigmoid=True,
                                       loss_weight=1.0),
                 loss_bbox: dict = dict(type='L1Loss', loss_weight=1.0),
                 reg_decoded_bbox: bool = False,
                 init_cfg: Optional[Union[dict, list]] = dict(type='Normal', layer='Conv2d',
                                                              std=0.01),
                 **kwargs) -> None:
        if num_classes != 1:
            raise ValueError(f'RPNHead: num_classes must be 1 (objectness), got {num_classes}')
        if reg_decoded_bbox:
            raise NotImplementedError('RPNHead: reg_decoded_bbox=True is not supported')
        if not loss_cls.get('use_sigmoid', False):
            raise ValueError('RPNHead: loss_cls must be a sigmoid loss (use_sigmoid=True)')
        self.num_convs = num_convs
        super().__init__(num_classes, in_channels, feat_channels=feat_channels,
                         anchor_generator=anchor_generator, bbox_coder=bbox_coder,
                         loss_cls=loss_cls, loss_bbox=loss_bbox, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        """``rpn_conv`` (a conv, or a Sequential of conv + ReLU pairs), ``rpn_cls``,
        ``rpn_reg``."""
        if self.num_convs > 1:
            convs = []
            for i in range(self.num_convs):
                convs += [nn.Conv2d(self.in_channels if i == 0 else self.feat_channels,
                                    self.feat_channels, 3, padding=1), nn.ReLU(inplace=True)]
            self.rpn_conv = nn.Sequential(*convs)
        else:
            self.rpn_conv = nn.Conv2d(self.in_channels, self.feat_channels, 3, padding=1)
        self.rpn_cls = nn.Conv2d(self.feat_channels,
                                 self.num_base_priors * self.cls_out_channels, 1)
        self.rpn_reg = nn.Conv2d(self.feat_channels,
                                 self.num_base_priors * self.bbox_coder.encode_size, 1)

    def forward_single(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """One level: (B, C, H, W) -> objectness (B, A, H, W) and deltas (B, 4A, H, W)."""
        x = F.relu(self.rpn_conv(x))
        return self.rpn_cls(x), self.rpn_reg(x)

    def _get_targets_single(self, flat_anchors: Tensor, valid_flags: Tensor,
                            gt_instances: InstanceData, img_meta: dict,
                            gt_instances_ignore: Optional[InstanceData] = None) -> tuple:
        """``AnchorHead``'s targets with every ground truth an object of class 0 (the input
        instances are not modified); see ``AnchorHead._get_targets_single``."""
        objects = InstanceData(bboxes=gt_instances.bboxes,
                               labels=torch.zeros_like(gt_instances.labels))
        return super()._get_targets_single(flat_anchors, valid_flags, objects, img_meta,
                                           gt_instances_ignore)

    def loss_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                     batch_gt_instances: list[InstanceData], batch_img_metas: list[dict],
                     batch_gt_instances_ignore: Optional[list] = None) -> dict[str, Tensor]:
        """Objectness and box losses of the sampled anchors: ``loss_rpn_cls``,
        ``loss_rpn_bbox``."""
        losses = super().loss_by_feat(cls_scores, bbox_preds, batch_gt_instances,
                                      batch_img_metas, batch_gt_instances_ignore)
        return dict(loss_rpn_cls=losses['loss_cls'], loss_rpn_bbox=losses['loss_bbox'])

    def _predict_by_feat_single(self, cls_score_list: list[Tensor], bbox_pred_list: list[Tensor],
                                score_factor_list: Optional[list[Tensor]],
                                mlvl_priors: list[Tensor], img_meta: dict, cfg: ConfigDict,
                                rescale: bool = False, with_nms: bool = True) -> InstanceData:
        """Proposals of one image: the ``nms_pre`` best anchors of each level, decoded, then
        :meth:`_bbox_post_process`.

        Returns:
            ``bboxes`` (K, 4) in input pixels (or original pixels with ``rescale``),
            ``scores`` (K,) objectness, ``labels`` (K,) zeros.
        """
        scores = [s.reshape(-1).float().sigmoid() for s in cls_score_list]
        deltas = [d.float() for d in bbox_pred_list]
        score, delta, prior, level = select_proposals(scores, deltas, mlvl_priors,
                                                      cfg.get('nms_pre', -1))
        bboxes = self.bbox_coder.decode(prior.float(), delta, max_shape=img_meta['img_shape'])
        results = InstanceData(bboxes=bboxes, scores=score, level_ids=level)
        return self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                       img_meta=img_meta)

    def _bbox_post_process(self, results: InstanceData, cfg: ConfigDict, rescale: bool = False,
                           with_nms: bool = True, img_meta: Optional[dict] = None
                           ) -> InstanceData:
        """The RPN's post-processing (mmdetection's order): rescale, drop boxes not larger
        than ``min_bbox_size``, NMS within each level, keep the ``max_per_img`` best.

        Args:
            results: ``bboxes`` (K, 4), ``scores`` (K,) and ``level_ids`` (K,).
            cfg: ``min_bbox_size`` (default 0), ``nms=dict(iou_threshold)``,
                ``max_per_img`` (default 1000).
            rescale: Divide boxes by ``img_meta['scale_factor']``.
            with_nms: Without it the decoded candidates are returned (rescaled).

        Returns:
            A new ``InstanceData`` with ``bboxes``, ``scores`` and ``labels`` (zeros).
        """
        bboxes, scores = results.bboxes, results.scores
        if rescale and img_meta is not None and 'scale_factor' in img_meta:
            bboxes = boxes_to_original(bboxes, img_meta)
        if with_nms:
            bboxes, scores = nms_proposals(bboxes, scores, results.level_ids,
                                           cfg['nms']['iou_threshold'],
                                           cfg.get('max_per_img', 1000),
                                           cfg.get('min_bbox_size', 0))
        return InstanceData(bboxes=bboxes, scores=scores,
                            labels=scores.new_zeros(scores.shape, dtype=torch.long))
