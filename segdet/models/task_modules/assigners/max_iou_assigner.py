"""MaxIoUAssigner: each prior gets a ground-truth box, background, or "ignore" by IoU."""
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from segdet.registry import TASK_UTILS
from segdet.structures.bbox import bbox_overlaps


@dataclass
class AssignResult:
    """Per prior: ``gt_inds`` 0 = negative, -1 = ignored, i > 0 = ground truth i - 1;
    ``max_overlaps`` its best IoU; ``labels`` the class of its ground truth, else -1."""

    num_gts: int
    gt_inds: Tensor
    max_overlaps: Tensor
    labels: Tensor


def assign_by_overlaps(overlaps: Tensor, gt_labels: Tensor, pos_iou_thr: float,
                       neg_iou_thr: Union[float, Sequence[float]], min_pos_iou: float = 0.0,
                       gt_max_assign_all: bool = True, match_low_quality: bool = True
                       ) -> AssignResult:
    """Assign priors from a (num_gts, num_priors) overlap matrix (mmdetection's rules).

    1. Every prior starts ignored (-1).
    2. Priors whose best IoU is in [0, neg_iou_thr) (or in [lo, hi) for a pair) are negative.
    3. Priors whose best IoU >= pos_iou_thr take that ground truth.
    4. With ``match_low_quality``: each ground truth whose best IoU >= min_pos_iou also takes
       its best prior(s) (all priors tied at that IoU with ``gt_max_assign_all``), even below
       pos_iou_thr; later ground truths win ties.

    Overlaps of -1 (priors covered by ignored regions) never become negative or positive.
    """
    num_gts, num_priors = overlaps.shape
    gt_inds = overlaps.new_full((num_priors, ), -1, dtype=torch.long)
    if num_gts == 0 or num_priors == 0:
        max_overlaps = overlaps.new_zeros((num_priors, ))
        if num_gts == 0:
            gt_inds[:] = 0
        return AssignResult(num_gts, gt_inds, max_overlaps,
                            overlaps.new_full((num_priors, ), -1, dtype=torch.long))
    max_overlaps, argmax = overlaps.max(dim=0)
    gt_max_overlaps, gt_argmax = overlaps.max(dim=1)
    if isinstance(neg_iou_thr, (int, float)):
        gt_inds[(max_overlaps >= 0) & (max_overlaps < neg_iou_thr)] = 0
    else:
        lo, hi = neg_iou_thr
        gt_inds[(max_overlaps >= lo) & (max_overlaps < hi)] = 0
    positive = max_overlaps >= pos_iou_thr
    gt_inds[positive] = argmax[positive] + 1
    if match_low_quality:
        for i in range(num_gts):
            if gt_max_overlaps[i] >= min_pos_iou:
                if gt_max_assign_all:
                    gt_inds[overlaps[i] == gt_max_overlaps[i]] = i + 1
                else:
                    gt_inds[gt_argmax[i]] = i + 1
    labels = gt_inds.new_full((num_priors, ), -1)
    assigned = gt_inds > 0
    labels[assigned] = gt_labels[gt_inds[assigned] - 1].long()
    return AssignResult(num_gts, gt_inds, max_overlaps, labels)


@TASK_UTILS.register_module()
class MaxIoUAssigner:
    """mmdetection's MaxIoUAssigner on (x1, y1, x2, y2) priors.

    Args:
        pos_iou_thr, neg_iou_thr, min_pos_iou, gt_max_assign_all, match_low_quality: see
            :func:`assign_by_overlaps`.
        ignore_iof_thr: Priors overlapping an ignored box (e.g. COCO ``iscrowd``) by more than
            this intersection-over-foreground are ignored; -1 disables.
        ignore_wrt_candidates: IoF relative to the prior (True) or to the ignored box.
        gpu_assign_thr: Kept for config compatibility (segdet computes on the priors' device).
        iou_calculator: Only ``BboxOverlaps2D`` (plain IoU) is supported.
    """

    def __init__(self, pos_iou_thr: float, neg_iou_thr: Union[float, Sequence[float]],
                 min_pos_iou: float = 0.0, gt_max_assign_all: bool = True,
                 ignore_iof_thr: float = -1, ignore_wrt_candidates: bool = True,
                 match_low_quality: bool = True, gpu_assign_thr: float = -1,
                 iou_calculator: Optional[dict] = None) -> None:
        calc = (iou_calculator or dict(type='BboxOverlaps2D')).get('type')
        if calc != 'BboxOverlaps2D':
            raise NotImplementedError(f'MaxIoUAssigner: iou_calculator {calc!r} is not '
                                      "supported by segdet; use dict(type='BboxOverlaps2D')")
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.ignore_iof_thr = ignore_iof_thr
        self.ignore_wrt_candidates = ignore_wrt_candidates
        self.match_low_quality = match_low_quality

    def assign(self, pred_instances, gt_instances, gt_instances_ignore=None,
               **kwargs) -> AssignResult:
        """``pred_instances.priors`` (N, 4) vs ``gt_instances.bboxes`` (G, 4) / ``.labels``."""
        priors = pred_instances.priors
        gt_bboxes, gt_labels = gt_instances.bboxes, gt_instances.labels
        overlaps = bbox_overlaps(gt_bboxes, priors)
        ignored = None if gt_instances_ignore is None else gt_instances_ignore.bboxes
        if (self.ignore_iof_thr > 0 and ignored is not None and ignored.numel() > 0
                and priors.numel() > 0):
            if self.ignore_wrt_candidates:
                iof = bbox_overlaps(priors, ignored, mode='iof').max(dim=1).values
            else:
                iof = bbox_overlaps(ignored, priors, mode='iof').max(dim=0).values
            overlaps[:, iof > self.ignore_iof_thr] = -1
        return assign_by_overlaps(overlaps, gt_labels, self.pos_iou_thr, self.neg_iou_thr,
                                  self.min_pos_iou, self.gt_max_assign_all,
                                  self.match_low_quality)
