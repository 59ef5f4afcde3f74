"""BaseDenseHead: what every dense (per-prior) detection head shares.

Call graph (mmdetection 3.x's head contract)::

    loss():             forward() -> loss_by_feat()
    predict():          forward() -> predict_by_feat()
    loss_and_predict(): forward() -> loss_by_feat() and predict_by_feat()   (the RPN)

    predict_by_feat() -> _predict_by_feat_single() per image -> _bbox_post_process()

A subclass implements ``forward(x)`` returning per-level outputs, usually
``(cls_scores, bbox_preds)``, and ``loss_by_feat``. The generic prediction below also needs
the attributes an ``AnchorHead`` defines: ``prior_generator``, ``bbox_coder``,
``cls_out_channels``, ``use_sigmoid_cls`` and ``test_cfg``.
"""
from abc import ABCMeta, abstractmethod
from typing import Optional, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.models.utils import unpack_gt_instances
from segdet.ops import batched_nms
from segdet.structures import SampleList
from segdet.structures.bbox import box_sizes, boxes_to_original
from segdet.utils import as_config_dict


def filter_scores_and_topk(scores: Tensor, score_thr: float, topk: int
                           ) -> tuple[Tensor, Tensor, Tensor]:
    """The best (prior, class) pairs of one level whose score is above a threshold.

    Args:
        scores: (N, C) class probabilities of N priors.
        score_thr: Keep pairs with a score strictly above this.
        topk: Keep at most this many pairs (<= 0: all).

    Returns:
        Scores (K,), class labels (K,) and prior indices (K,), highest score first.
    """
    valid = scores > score_thr
    kept = scores[valid]
    pairs = torch.nonzero(valid)  # (K, 2): prior index, class
    if 0 < topk < kept.numel():
        kept, order = kept.topk(topk)
    else:
        kept, order = kept.sort(descending=True)
    pairs = pairs[order]
    return kept, pairs[:, 1], pairs[:, 0]


def levels_to_images(level_outputs: list[Tensor], channels: int) -> list[list[Tensor]]:
    """Per-level (B, A * channels, H, W) maps -> per image, per level (H * W * A, channels).

    The row order (cell-major, then the A priors of a cell) is the prior generator's.
    """
    num_imgs = level_outputs[0].shape[0]
    return [[out[i].permute(1, 2, 0).reshape(-1, channels) for out in level_outputs]
            for i in range(num_imgs)]


class BaseDenseHead(BaseModule, metaclass=ABCMeta):
    """Base of dense heads: the loss / predict entry points and one-stage post-processing.

    Args:
        init_cfg: Weight initialisation config.
    """

    def __init__(self, init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg)

    @abstractmethod
    def forward(self, x: tuple[Tensor, ...]) -> tuple:
        """Per-level features -> per-level raw outputs, e.g. ``(cls_scores, bbox_preds)``."""

    @abstractmethod
    def loss_by_feat(self, *args, **kwargs) -> dict:
        """Losses from ``forward``'s outputs followed by ``batch_gt_instances``,
        ``batch_img_metas`` and ``batch_gt_instances_ignore``."""

    # ----------------------------------------------------------------------------- training
    def loss(self, x: tuple[Tensor, ...], batch_data_samples: SampleList) -> dict:
        """Losses of a batch against the samples' ``gt_instances`` (``ignored_instances``,
        when present, are ignore regions).

        Args:
            x: Per-level (B, C, H_i, W_i) features.
            batch_data_samples: Samples with ``gt_instances`` and metainfo.
        """
        outs = self(x)
        gts, ignores, metas = unpack_gt_instances(batch_data_samples)
        return self.loss_by_feat(*outs, gts, metas, ignores)

    def loss_and_predict(self, x: tuple[Tensor, ...], batch_data_samples: SampleList,
                         proposal_cfg: Optional[dict] = None
                         ) -> tuple[dict, list[InstanceData]]:
        """Losses and (gradient-free) predictions from one forward pass; the RPN of a
        two-stage detector uses the predictions as proposals.

        Args:
            proposal_cfg: Post-processing settings of the predictions (``test_cfg`` if None).

        Returns:
            ``(losses, results_list)``; each result holds ``bboxes`` (K, 4) in input pixels,
            ``scores`` (K,) and ``labels`` (K,).
        """
        outs = self(x)
        gts, ignores, metas = unpack_gt_instances(batch_data_samples)
        losses = self.loss_by_feat(*outs, gts, metas, ignores)
        detached = [[level.detach() for level in out] for out in outs]
        return losses, self.predict_by_feat(*detached, batch_img_metas=metas, cfg=proposal_cfg)

    # ---------------------------------------------------------------------------- inference
    def predict(self, x: tuple[Tensor, ...], batch_data_samples: SampleList,
                rescale: bool = False) -> list[InstanceData]:
        """Detections of each image: ``bboxes`` (K, 4), ``scores`` (K,), ``labels`` (K,);
        in input pixels, or divided by the metainfo's ``scale_factor`` when ``rescale``."""
        outs = self(x)
        metas = [s.metainfo for s in batch_data_samples]
        return self.predict_by_feat(*outs, batch_img_metas=metas, rescale=rescale)

    def _resolve_test_cfg(self, cfg: Optional[dict]) -> ConfigDict:
        cfg = cfg if cfg is not None else getattr(self, 'test_cfg', None)
        if cfg is None:
            raise ValueError(f'{type(self).__name__}: no test_cfg (post-processing settings: '
                             'nms_pre, score_thr, nms, max_per_img)')
        return as_config_dict(cfg, 'test_cfg')

    def predict_by_feat(self, cls_scores: list[Tensor], bbox_preds: list[Tensor],
                        score_factors: Optional[list[Tensor]] = None,
                        batch_img_metas: Optional[list[dict]] = None,
                        cfg: Optional[dict] = None, rescale: bool = False,
                        with_nms: bool = True) -> list[InstanceData]:
        """Turn per-level head outputs into per-image detections.

        Args:
            cls_scores: Per level (B, A * cls_out_channels, H, W) class logits.
            bbox_preds: Per level (B, A * 4, H, W) box deltas.
            score_factors: Optional per level (B, A, H, W) logits whose sigmoid multiplies the
                class scores (e.g. centre-ness).
            batch_img_metas: Metainfo of each image (``img_shape``, ``scale_factor``).
            cfg: Post-processing settings (``test_cfg`` if None): ``nms_pre`` (per level),
                ``score_thr``, ``nms=dict(iou_threshold)``, ``max_per_img``,
                ``min_bbox_size``.
            rescale: Divide boxes by ``scale_factor`` (original-image pixels).
            with_nms: Run NMS (else every kept candidate is returned).

        Returns:
            One ``InstanceData`` per image with ``bboxes`` (K, 4), ``scores`` (K,) and
            ``labels`` (K,) int64, highest score first.
        """
        if batch_img_metas is None:
            raise ValueError(f'{type(self).__name__}.predict_by_feat needs batch_img_metas')
        if len(cls_scores) != len(bbox_preds):
            raise ValueError(f'{type(self).__name__}.predict_by_feat: {len(cls_scores)} score '
                             f'levels but {len(bbox_preds)} box levels')
        cfg = self._resolve_test_cfg(cfg)
        featmap_sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        priors = self.prior_generator.grid_priors(featmap_sizes, dtype=cls_scores[0].dtype,
                                                  device=cls_scores[0].device)
        scores_per_img = levels_to_images(cls_scores, self.cls_out_channels)
        deltas_per_img = levels_to_images(bbox_preds, self.bbox_coder.encode_size)
        factors_per_img = (levels_to_images(score_factors, 1) if score_factors is not None
                           else [None] * len(batch_img_metas))
        return [self._predict_by_feat_single(scores_per_img[i], deltas_per_img[i],
                                             factors_per_img[i], priors, meta, cfg,
                                             rescale=rescale, with_nms=with_nms)
                for i, meta in enumerate(batch_img_metas)]

    def _predict_by_feat_single(self, cls_score_list: list[Tensor], bbox_pred_list: list[Tensor],
                                score_factor_list: Optional[list[Tensor]],
                                mlvl_priors: list[Tensor], img_meta: dict, cfg: ConfigDict,
                                rescale: bool = False, with_nms: bool = True) -> InstanceData:
        """Detections of one image from its per-level (n_i, C) logits and (n_i, 4) deltas.

        Per level, the ``nms_pre`` best (prior, class) pairs above ``score_thr`` are decoded;
        then :meth:`_bbox_post_process` runs over all levels together.
        """
        bboxes, scores, labels, factors = [], [], [], []
        for level, (logits, deltas, priors) in enumerate(
                zip(cls_score_list, bbox_pred_list, mlvl_priors)):
            logits = logits.float()
            probs = logits.sigmoid() if self.use_sigmoid_cls else logits.softmax(-1)[:, :-1]
            kept, kept_labels, idx = filter_scores_and_topk(
                probs, cfg.get('score_thr', 0.0), cfg.get('nms_pre', -1))
            bboxes.append(self.bbox_coder.decode(priors[idx].float(), deltas[idx].float(),
                                                 max_shape=img_meta['img_shape']))
            scores.append(kept)
            labels.append(kept_labels)
            if score_factor_list is not None:
                factors.append(score_factor_list[level][idx, 0].float().sigmoid())
        results = InstanceData(bboxes=torch.cat(bboxes).view(-1, 4), scores=torch.cat(scores),
                               labels=torch.cat(labels))
        if factors:
            results.score_factors = torch.cat(factors)
        return self._bbox_post_process(results, cfg, rescale=rescale, with_nms=with_nms,
                                       img_meta=img_meta)

    def _bbox_post_process(self, results: InstanceData, cfg: ConfigDict, rescale: bool = False,
                           with_nms: bool = True, img_meta: Optional[dict] = None
                           ) -> InstanceData:
        """Rescale, apply score factors, drop small boxes, class-wise NMS, keep the best.

        Args:
            results: ``bboxes`` (K, 4) in input pixels, ``scores`` (K,), ``labels`` (K,) and
                optional ``score_factors`` (K,).
            cfg: ``min_bbox_size`` (boxes not wider and taller than it are dropped; < 0 keeps
                all), ``nms=dict(iou_threshold)``, ``max_per_img``.
            rescale: Divide boxes by ``img_meta['scale_factor']``.
            with_nms: Run NMS within each class; without it the candidates are returned.
            img_meta: Metainfo of the image.

        Returns:
            A new ``InstanceData`` with ``bboxes``, ``scores``, ``labels``.
        """
        bboxes, scores, labels = results.bboxes, results.scores, results.labels
        if rescale:
            bboxes = boxes_to_original(bboxes, img_meta or {})
        if 'score_factors' in results:
            scores = scores * results.score_factors
        if cfg.get('min_bbox_size', -1) >= 0:
            w, h = box_sizes(bboxes)
            valid = (w > cfg.min_bbox_size) & (h > cfg.min_bbox_size)
            bboxes, scores, labels = bboxes[valid], scores[valid], labels[valid]
        if with_nms and bboxes.numel() > 0:
            keep = batched_nms(bboxes.float(), scores.float(), labels,
                               cfg['nms']['iou_threshold'])
            max_per_img = cfg.get('max_per_img', -1)
            keep = keep[:max_per_img] if max_per_img > 0 else keep
            bboxes, scores, labels = bboxes[keep], scores[keep], labels[keep]
        return InstanceData(bboxes=bboxes, scores=scores, labels=labels)
