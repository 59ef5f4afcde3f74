"""PseudoSampler: keep every assigned prior (one-stage heads such as RetinaNet's)."""
import torch

from segdet.registry import TASK_UTILS

from ..assigners import AssignResult
from .sampling_result import SamplingResult


@TASK_UTILS.register_module()
class PseudoSampler:
    """Take all positives and all negatives of an assignment, draw nothing.

    Losses over the result average over the positives only (``avg_factor_with_neg=False``),
    as focal-loss heads do: the many easy negatives would otherwise swamp the average.
    """

    def __init__(self, **kwargs) -> None:
        pass

    def sample(self, assign_result: AssignResult, pred_instances, gt_instances,
               **kwargs) -> SamplingResult:
        """Positives (``gt_inds > 0``) and negatives (``gt_inds == 0``) of ``pred_instances
        .priors`` (N, 4); ignored priors (``gt_inds == -1``) are in neither."""
        priors = pred_instances.priors[:, :4]
        gt_bboxes = gt_instances.bboxes
        gt_inds = assign_result.gt_inds
        pos_inds = torch.nonzero(gt_inds > 0).flatten()
        neg_inds = torch.nonzero(gt_inds == 0).flatten()
        assigned = gt_inds[pos_inds] - 1
        return SamplingResult(
            pos_inds=pos_inds, neg_inds=neg_inds, pos_assigned_gt_inds=assigned,
            pos_gt_bboxes=gt_bboxes[assigned] if gt_bboxes.numel() else gt_bboxes.view(-1, 4),
            pos_gt_labels=assign_result.labels[pos_inds], pos_priors=priors[pos_inds],
            neg_priors=priors[neg_inds], num_gts=gt_bboxes.shape[0],
            gt_flags=priors.new_zeros((priors.shape[0], ), dtype=torch.uint8),
            avg_factor_with_neg=False)
