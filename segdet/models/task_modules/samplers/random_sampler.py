"""RandomSampler: a fixed-size random mini-batch of positive and negative priors."""
from typing import Optional

import torch
from torch import Tensor

from segdet.registry import TASK_UTILS

from ..assigners import AssignResult
from .sampling_result import SamplingResult


def random_choice(candidates: Tensor, num: int, generator: Optional[torch.Generator] = None
                  ) -> Tensor:
    """``num`` elements of ``candidates`` drawn without replacement (all if fewer)."""
    if candidates.numel() <= num:
        return candidates
    perm = torch.randperm(candidates.numel(), generator=generator)[:num]
    return candidates[perm.to(candidates.device)]


@TASK_UTILS.register_module()
class RandomSampler:
    """Sample ``num`` priors, up to ``num * pos_fraction`` of them positive.

    Args:
        num: Priors per image.
        pos_fraction: Largest share of positives.
        neg_pos_ub: At most ``neg_pos_ub`` negatives per positive (-1: no bound).
        add_gt_as_proposals: Prepend the ground-truth boxes to the priors (as positives of
            themselves) so that every ground truth has at least one positive.
    """

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: int = -1,
                 add_gt_as_proposals: bool = True, **kwargs) -> None:
        if not 0 <= pos_fraction <= 1:
            raise ValueError(f'RandomSampler: pos_fraction must be in [0, 1], got {pos_fraction}')
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals

    def sample(self, assign_result: AssignResult, pred_instances, gt_instances,
               generator: Optional[torch.Generator] = None, **kwargs) -> SamplingResult:
        """Sample from ``assign_result`` over ``pred_instances.priors`` (N, 4)."""
        priors = pred_instances.priors[:, :4]
        gt_bboxes, gt_labels = gt_instances.bboxes, gt_instances.labels
        gt_inds, labels = assign_result.gt_inds, assign_result.labels
        gt_flags = priors.new_zeros((priors.shape[0], ), dtype=torch.uint8)
        if self.add_gt_as_proposals and gt_bboxes.numel() > 0:
            priors = torch.cat([gt_bboxes.to(priors.dtype), priors])
            own = torch.arange(1, gt_bboxes.shape[0] + 1, device=gt_inds.device)
            gt_inds = torch.cat([own, gt_inds])
            labels = torch.cat([gt_labels.long().to(labels.device), labels])
            gt_flags = torch.cat([gt_flags.new_ones(gt_bboxes.shape[0]), gt_flags])
        max_pos = int(self.num * self.pos_fraction)
        pos_inds = random_choice(torch.nonzero(gt_inds > 0).flatten(), max_pos, generator)
        max_neg = self.num - pos_inds.numel()
        if self.neg_pos_ub >= 0:
            max_neg = min(max_neg, self.neg_pos_ub * max(1, pos_inds.numel()))
        neg_inds = random_choice(torch.nonzero(gt_inds == 0).flatten(), max_neg, generator)
        assigned = gt_inds[pos_inds] - 1
        return SamplingResult(
            pos_inds=pos_inds, neg_inds=neg_inds, pos_assigned_gt_inds=assigned,
            pos_gt_bboxes=gt_bboxes[assigned] if gt_bboxes.numel() else gt_bboxes.view(-1, 4),
            pos_gt_labels=labels[pos_inds], pos_priors=priors[pos_inds],
            neg_priors=priors[neg_inds], num_gts=gt_bboxes.shape[0], gt_flags=gt_flags)
