"""StandardRoIHead: the second stage of Faster / Mask R-CNN (box head, optional mask head)."""
from typing import Optional, Sequence

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.registry import MODELS, TASK_UTILS
from segdet.structures import SampleList
from segdet.structures.bbox import bbox2roi, boxes_to_original

from .base_roi_head import BaseRoIHead
from .bbox_heads import empty_instances


@MODELS.register_module()
class StandardRoIHead(BaseRoIHead):
    """Assign and sample proposals, pool RoI features, classify/regress boxes, segment masks.

    Args:
        bbox_roi_extractor, bbox_head: Box branch (required).
        mask_roi_extractor, mask_head: Mask branch (optional). Without a mask extractor the
            mask head reuses the box branch's RoI features (``share_roi_extractor``, the C4
            model: the shared head's output of the positive RoIs).
        shared_head: Run on RoI features before both heads (``ResLayer`` for C4).
        train_cfg: ``assigner``, ``sampler``, ``pos_weight``, ``mask_size``.
        test_cfg: ``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``.
    """

    def __init__(self, bbox_roi_extractor: Optional[dict] = None,
                 bbox_head: Optional[dict] = None, **kwargs) -> None:
        if bbox_head is None or bbox_roi_extractor is None:
            raise ValueError('StandardRoIHead needs bbox_roi_extractor and bbox_head')
        super().__init__(bbox_roi_extractor=bbox_roi_extractor, bbox_head=bbox_head, **kwargs)

    def init_bbox_head(self, bbox_roi_extractor: Optional[dict], bbox_head: dict) -> None:
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.bbox_head = MODELS.build(bbox_head)

    def init_mask_head(self, mask_roi_extractor: Optional[dict], mask_head: dict) -> None:
        if mask_roi_extractor is not None:
            self.mask_roi_extractor = MODELS.build(mask_roi_extractor)
            self.share_roi_extractor = False
        else:
            self.share_roi_extractor = True
            self.mask_roi_extractor = self.bbox_roi_extractor
        self.mask_head = MODELS.build(mask_head)

    def init_assigner_sampler(self) -> None:
        if self.train_cfg is not None:
            self.bbox_assigner = TASK_UTILS.build(self.train_cfg['assigner'])
            self.bbox_sampler = TASK_UTILS.build(self.train_cfg['sampler'])

    # ------------------------------------------------------------------------------ network
    def _bbox_forward(self, x: Sequence[Tensor], rois: Tensor) -> dict:
        """(R, 5) RoIs -> ``cls_score`` (R, C + 1), ``bbox_pred`` (R, 4C) and the pooled
        ``bbox_feats``."""
        feats = self.bbox_roi_extractor(x[:self.bbox_roi_extractor.num_inputs], rois)
        if self.with_shared_head:
            feats = self.shared_head(feats)
        cls_score, bbox_pred = self.bbox_head(feats)
        return dict(cls_score=cls_score, bbox_pred=bbox_pred, bbox_feats=feats)

    def _mask_forward(self, x: Sequence[Tensor], rois: Optional[Tensor] = None,
                      pos_inds: Optional[Tensor] = None,
                      bbox_feats: Optional[Tensor] = None) -> dict:
        """``mask_preds`` (P, C, 2S, 2S) of RoIs (P, 5), or of the ``pos_inds`` rows of the
        box branch's ``bbox_feats`` when the extractor is shared."""
        if rois is not None:
            feats = self.mask_roi_extractor(x[:self.mask_roi_extractor.num_inputs], rois)
            if self.with_shared_head:
                feats = self.shared_head(feats)
        else:
            feats = bbox_feats[pos_inds]
        return dict(mask_preds=self.mask_head(feats), mask_feats=feats)

    def forward(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
                batch_data_samples: Optional[SampleList] = None) -> tuple:
        """Raw head outputs on the proposals (no sampling, no post-processing).

        Returns:
            ``(cls_score (R, C + 1), bbox_pred (R, 4C))`` over all images' proposals and, with
            a mask head, ``mask_preds`` of the first ``test_cfg.max_per_img`` (default 100)
            RoIs, the number of detections the mask branch sees at test time.
        """
        rois = bbox2roi([res.bboxes for res in rpn_results_list])
        out = self._bbox_forward(x, rois)
        results: tuple = (out['cls_score'], out['bbox_pred'])
        if self.with_mask:
            max_per_img = (self.test_cfg or {}).get('max_per_img', 100)
            results += (self._mask_forward(x, rois[:max_per_img])['mask_preds'], )
        return results

    # ----------------------------------------------------------------------------- training
    def loss(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
             batch_data_samples: SampleList) -> dict:
        """Box (and mask) losses of the sampled proposals of every image: ``loss_cls``,
        ``acc``, ``loss_bbox`` (and ``loss_mask``)."""
        return self.loss_of_samples(x, self.sample_proposals(rpn_results_list,
                                                             batch_data_samples),
                                    [s.gt_instances for s in batch_data_samples])

    def sample_proposals(self, rpn_results_list: list[InstanceData],
                         batch_data_samples: SampleList) -> list:
        """Assign each image's proposals to its ground truth and sample the training RoIs
        (``train_cfg.assigner`` / ``sampler``): one ``SamplingResult`` per image."""
        sampling_results = []
        for proposals, sample in zip(rpn_results_list, batch_data_samples):
            pred = InstanceData(priors=proposals.bboxes)
            ignored = sample.ignored_instances if 'ignored_instances' in sample else None
            assign = self.bbox_assigner.assign(pred, sample.gt_instances, ignored)
            sampling_results.append(self.bbox_sampler.sample(assign, pred, sample.gt_instances))
        return sampling_results

    def loss_of_samples(self, x: Sequence[Tensor], sampling_results: list,
                        batch_gt_instances: list[InstanceData]) -> dict:
        """The branches' losses on sampled RoIs (box, and mask with a mask head)."""
        bbox_results = self.bbox_loss(x, sampling_results)
        losses = dict(bbox_results['loss_bbox'])
        if self.with_mask:
            mask_results = self.mask_loss(x, sampling_results, bbox_results['bbox_feats'],
                                          batch_gt_instances)
            losses.update(mask_results['loss_mask'])
        return losses

    def bbox_loss(self, x: Sequence[Tensor], sampling_results: list) -> dict:
        """Box branch on the sampled RoIs: ``_bbox_forward``'s outputs plus ``rois`` (R, 5),
        ``loss_bbox`` (the dict of ``loss_cls``, ``acc``, ``loss_bbox``) and ``bbox_targets``
        (what ``bbox_head.refine_bboxes`` reads)."""
        rois = bbox2roi([res.priors for res in sampling_results])
        results = self._bbox_forward(x, rois)
        results['rois'] = rois
        results.update(self.bbox_head.loss_and_target(
            results['cls_score'], results['bbox_pred'], rois, sampling_results,
            self.train_cfg))
        return results

    def mask_loss(self, x: Sequence[Tensor], sampling_results: list, bbox_feats: Tensor,
                  batch_gt_instances: list[InstanceData]) -> dict:
        """Mask branch on the positive RoIs: ``mask_preds``, ``loss_mask`` (a dict with
        ``loss_mask``) and ``mask_targets``."""
        if not self.share_roi_extractor:
            results = self._mask_forward(
                x, rois=bbox2roi([res.pos_priors for res in sampling_results]))
        else:
            flags = []
            for res in sampling_results:
                flags.append(torch.ones(res.pos_priors.shape[0], dtype=torch.bool))
                flags.append(torch.zeros(res.neg_priors.shape[0], dtype=torch.bool))
            pos_inds = torch.cat(flags).to(bbox_feats.device)
            results = self._mask_forward(x, pos_inds=pos_inds, bbox_feats=bbox_feats)
        results.update(self.mask_head.loss_and_target(results['mask_preds'], sampling_results,
                                                      batch_gt_instances, self.train_cfg))
        return results

    # ---------------------------------------------------------------------------- inference
    def predict_bbox(self, x: Sequence[Tensor], batch_img_metas: list[dict],
                     rpn_results_list: list[InstanceData], rcnn_test_cfg: Optional[dict],
                     rescale: bool = False) -> list[InstanceData]:
        """Per-image detections (``bboxes`` (N, 4), ``scores`` (N,), ``labels`` (N,)) of the
        proposals: box head, decoding, score threshold, per-class NMS."""
        rois = bbox2roi([res.bboxes for res in rpn_results_list])
        if rois.shape[0] == 0:
            return [empty_instances(x[0]) for _ in batch_img_metas]
        out = self._bbox_forward(x, rois)
        counts = [len(res) for res in rpn_results_list]
        return self.bbox_head.predict_by_feat(
            rois.split(counts), out['cls_score'].split(counts), out['bbox_pred'].split(counts),
            batch_img_metas, rcnn_test_cfg, rescale=rescale)

    def predict_mask(self, x: Sequence[Tensor], batch_img_metas: list[dict],
                     results_list: list[InstanceData], rescale: bool = False
                     ) -> list[InstanceData]:
        """Add ``masks`` to detections whose boxes are in input pixels; with ``rescale`` the
        masks are pasted at ``ori_shape`` and the boxes mapped to original pixels."""
        rois = bbox2roi([res.bboxes for res in results_list])
        counts = [len(res) for res in results_list]
        if rois.shape[0]:
            mask_preds = self._mask_forward(x, rois=rois)['mask_preds'].split(counts)
        else:
            mask_preds = tuple(x[0].new_zeros((0, 1, 1, 1)) for _ in results_list)
        results_list = self.mask_head.predict_by_feat(mask_preds, results_list,
                                                      batch_img_metas, self.test_cfg,
                                                      rescale=rescale)
        if rescale:
            for res, meta in zip(results_list, batch_img_metas):
                res.bboxes = boxes_to_original(res.bboxes, meta)
        return results_list
