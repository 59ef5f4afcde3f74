"""SamplingResult: which priors a sampler picked, and the targets of the positives."""
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class SamplingResult:
    """Indices of the sampled priors and the targets of the positives.

    Attributes:
        pos_inds, neg_inds: Indices into the (gt-augmented) priors.
        pos_assigned_gt_inds: Ground-truth index (0-based) of each positive.
        pos_gt_bboxes: (P, 4) boxes of those ground truths.
        pos_gt_labels: (P, ) their labels.
        pos_priors, neg_priors: The sampled priors.
        num_gts: Number of ground truths; gt_flags: 1 for priors that are ground-truth boxes
            added as proposals.
        avg_factor_with_neg: Whether losses over these priors average over positives and
            negatives (samplers that draw a mini-batch) or over positives only (samplers that
            keep every prior, e.g. ``PseudoSampler``).
    """

    pos_inds: Tensor
    neg_inds: Tensor
    pos_assigned_gt_inds: Tensor
    pos_gt_bboxes: Tensor
    pos_gt_labels: Tensor
    pos_priors: Tensor
    neg_priors: Tensor
    num_gts: int
    gt_flags: Tensor
    avg_factor_with_neg: bool = True

    @property
    def num_pos(self) -> int:
        return int(self.pos_inds.numel())

    @property
    def num_neg(self) -> int:
        return int(self.neg_inds.numel())

    @property
    def avg_factor(self) -> int:
        """What losses over these priors are divided by: positives (+ negatives)."""
        return self.num_pos + self.num_neg if self.avg_factor_with_neg else self.num_pos

    @property
    def pos_is_gt(self) -> Tensor:
        """(P,) 1 for positives that are ground-truth boxes added as proposals."""
        return self.gt_flags[self.pos_inds]

    @property
    def priors(self) -> Tensor:
        """Positives then negatives, as the R-CNN head consumes them."""
        return torch.cat([self.pos_priors, self.neg_priors])
