"""StandardRoIHead: the second stage of Faster / Mask R-CNN (box head, optional mask head)."""
from typing import Optional, Sequence

import torch
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.registry import MODELS, TASK_UTILS
from segdet.structures import SampleList
from segdet.structures.bbox import bbox2roi, boxes_to_original

from .bbox_heads import empty_instances


@MODELS.register_module()
class StandardRoIHead(BaseModule):
    """Assign and sample proposals, pool RoI features, classify/regress boxes, segment masks.

    Args:
        bbox_roi_extractor, bbox_head: Box branch.
        mask_roi_extractor, mask_head: Mask branch (optional). Without a mask extractor the
            mask head reuses the box branch's RoI features (``share_roi_extractor``, the C4
            model: the shared head's output of the positive RoIs).
        shared_head: Run on RoI features before both heads (``ResLayer`` for C4).
        train_cfg: ``assigner``, ``sampler``, ``pos_weight``, ``mask_size``.
        test_cfg: ``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``.
    """

    def __init__(self, bbox_roi_extractor: Optional[dict] = None,
                 bbox_head: Optional[dict] = None,
                 mask_roi_extractor: Optional[dict] = None, mask_head: Optional[dict] = None,
                 shared_head: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(init_cfg)
        if bbox_head is None or bbox_roi_extractor is None:
            raise ValueError('StandardRoIHead needs bbox_roi_extractor and bbox_head')
        self.train_cfg = ConfigDict(train_cfg) if train_cfg is not None else None
        self.test_cfg = ConfigDict(test_cfg) if test_cfg is not None else None
        if shared_head is not None:
            self.shared_head = MODELS.build(shared_head)
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.bbox_head = MODELS.build(bbox_head)
        if mask_head is not None:
            if mask_roi_extractor is not None:
                self.mask_roi_extractor = MODELS.build(mask_roi_extractor)
                self.share_roi_extractor = False
            else:
                self.share_roi_extractor = True
                self.mask_roi_extractor = self.bbox_roi_extractor
            self.mask_head = MODELS.build(mask_head)
        if self.train_cfg is not None:
            self.bbox_assigner = TASK_UTILS.build(self.train_cfg['assigner'])
            self.bbox_sampler = TASK_UTILS.build(self.train_cfg['sampler'])

    @property
    def with_shared_head(self) -> bool:
        return hasattr(self, 'shared_head')

    @property
    def with_mask(self) -> bool:
        return hasattr(self, 'mask_head')

    def _bbox_forward(self, x: Sequence[Tensor], rois: Tensor) -> dict:
        feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            feats = self.shared_head(feats)
        cls_score, bbox_pred = self.bbox_head(feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=feats)

    def _mask_forward(self, x: Sequence[Tensor], rois: Optional[Tensor] = None,
                      pos_inds: Optional[Tensor] = None,
                      bbox_feats: Optional[Tensor] = None) -> Tensor:
        if rois is not None:
            feats = self.mask_roi_extractor(x[:self.mask_roi_extractor.num_inputs], rois)
            if self.with_shared_head:
                feats = self.shared_head(feats)
        else:
            feats = bbox_feats[pos_inds]
        return self.mask_head(feats)

    # ----------------------------------------------------------------------------- training
    def loss(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
             batch_data_samples: SampleList) -> dict:
        """Box (and mask) losses of the sampled proposals of every image."""
        sampling_results = []
        gts = [s.gt_instances for s in batch_data_samples]
        for proposals, sample in zip(rpn_results_list, batch_data_samples):
            pred = InstanceData(priors=proposals.bboxes)
            ignored = sample.ignored_instances if 'ignored_instances' in sample else None
            assign = self.bbox_assigner.assign(pred, sample.gt_instances, ignored)
            sampling_results.append(self.bbox_sampler.sample(assign, pred, sample.gt_instances))
        rois = bbox2roi([res.priors for res in sampling_results])
        bbox_results = self._bbox_forward(x, rois)
        targets = self.bbox_head.get_targets(sampling_results, self.train_cfg)
        losses = self.bbox_head.loss(bbox_results['cls_score'], bbox_results['bbox_pred'],
                                     *targets)
        if self.with_mask:
            losses.update(self._mask_loss(x, sampling_results, bbox_results['bbox_feats'],
                                          gts))
        return losses

    def _mask_loss(self, x: Sequence[Tensor], sampling_results: list, bbox_feats: Tensor,
                   batch_gt_instances: list[InstanceData]) -> dict:
        if not self.share_roi_extractor:
            mask_preds = self._mask_forward(
                x, rois=bbox2roi([res.pos_priors for res in sampling_results]))
        else:
            flags = []
            for res in sampling_results:
                flags.append(torch.ones(res.pos_priors.shape[0], dtype=torch.bool))
                flags.append(torch.zeros(res.neg_priors.shape[0], dtype=torch.bool))
            pos_inds = torch.cat(flags).to(bbox_feats.device)
            mask_preds = self._mask_forward(x, pos_inds=pos_inds, bbox_feats=bbox_feats)
        targets = self.mask_head.get_targets(sampling_results, batch_gt_instances,
                                             self.train_cfg)
        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        return self.mask_head.loss(mask_preds, targets, pos_labels)

    # ---------------------------------------------------------------------------- inference
    def predict(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
                batch_data_samples: SampleList, rescale: bool = False) -> list[InstanceData]:
        """Detections per image: ``bboxes`` (N, 4), ``scores`` (N,), ``labels`` (N,) and, with
        a mask head, ``masks`` (N, H, W) bool; at the original size when ``rescale``."""
        metas = [s.metainfo for s in batch_data_samples]
        results = self._predict_bbox(x, metas, rpn_results_list,
                                     rescale=rescale and not self.with_mask)
        if self.with_mask:
            results = self._predict_mask(x, metas, results, rescale=rescale)
        return results

    def _predict_bbox(self, x: Sequence[Tensor], metas: list[dict],
                      rpn_results_list: list[InstanceData], rescale: bool
                      ) -> list[InstanceData]:
        rois = bbox2roi([res.bboxes for res in rpn_results_list])
        if rois.shape[0] == 0:
            return [empty_instances(x[0]) for _ in metas]
        out = self._bbox_forward(x, rois)
        counts = [len(res) for res in rpn_results_list]
        rois_per_img = rois.split(counts)
        scores = out['cls_score'].split(counts)
        deltas = out['bbox_pred'].split(counts)
        return [self.bbox_head.predict_single(rois_per_img[i], scores[i], deltas[i], metas[i],
                                              self.test_cfg, rescale=rescale)
                for i in range(len(metas))]

    def _predict_mask(self, x: Sequence[Tensor], metas: list[dict],
                      results: list[InstanceData], rescale: bool) -> list[InstanceData]:
        rois = bbox2roi([res.bboxes for res in results])
        mask_preds = (self._mask_forward(x, rois=rois).split([len(r) for r in results])
                      if rois.shape[0] else [None] * len(results))
        for res, preds, meta in zip(results, mask_preds, metas):
            if len(res):
                res.masks = self.mask_head.predict_single(preds, res, meta, self.test_cfg,
                                                          rescale=rescale)
            else:
                shape = meta['ori_shape'] if rescale else meta['img_shape']
                res.masks = torch.zeros((0, *shape[:2]), dtype=torch.bool,
                                        device=res.bboxes.device)
        self._rescale_boxes(results, metas, rescale)
        return results

    @staticmethod
    def _rescale_boxes(results: list[InstanceData], metas: list[dict], rescale: bool) -> None:
        if not rescale:
            return
        for res, meta in zip(results, metas):
            res.bboxes = boxes_to_original(res.bboxes, meta)
