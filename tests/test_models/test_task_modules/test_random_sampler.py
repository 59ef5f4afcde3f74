"""RandomSampler: sizes, positive cap, gt-as-proposals, targets of the positives."""
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from segdet.models.task_modules import AssignResult, assign_by_overlaps
from segdet.registry import TASK_UTILS


def setup(num_pos: int, num_neg: int):
    gt = InstanceData(bboxes=torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.]]),
                      labels=torch.tensor([4, 9]))
    n = num_pos + num_neg + 3
    priors = torch.arange(n * 4, dtype=torch.float32).reshape(n, 4)
    gt_inds = torch.cat([torch.tensor([1, 2] * (num_pos // 2) + [1] * (num_pos % 2)),
                         torch.zeros(num_neg, dtype=torch.long), torch.full((3, ), -1)])
    labels = torch.where(gt_inds > 0, gt.labels[(gt_inds - 1).clamp(min=0)], -1)
    result = AssignResult(2, gt_inds, torch.zeros(n), labels)
    return result, InstanceData(priors=priors), gt


def test_caps_and_targets() -> None:
    init_default_scope('segdet')
    sampler = TASK_UTILS.build(dict(type='RandomSampler', num=16, pos_fraction=0.25,
                                    add_gt_as_proposals=False))
    result, preds, gt = setup(num_pos=10, num_neg=40)
    s = sampler.sample(result, preds, gt, generator=torch.Generator().manual_seed(0))
    assert s.pos_inds.numel() == 4 and s.neg_inds.numel() == 12  # 16 * 0.25 positives
    assert (result.gt_inds[s.pos_inds] > 0).all() and (result.gt_inds[s.neg_inds] == 0).all()
    assert torch.equal(s.pos_gt_bboxes, gt.bboxes[s.pos_assigned_gt_inds])
    assert torch.equal(s.pos_gt_labels, gt.labels[s.pos_assigned_gt_inds])
    assert len(set(s.neg_inds.tolist())) == 12  # without replacement
    assert s.priors.shape == (16, 4)


def test_gt_as_proposals_and_few_positives() -> None:
    init_default_scope('segdet')
    sampler = TASK_UTILS.build(dict(type='RandomSampler', num=8, pos_fraction=0.5,
                                    neg_pos_ub=2))
    result, preds, gt = setup(num_pos=1, num_neg=20)
    s = sampler.sample(result, preds, gt)
    # 2 gt boxes prepended + 1 positive prior = 3 positives; negatives capped at 2 per positive
    assert s.pos_inds.numel() == 3 and s.neg_inds.numel() == 5  # min(8 - 3, 2 * 3)
    assert s.gt_flags[:2].tolist() == [1, 1] and s.gt_flags[2:].sum() == 0
    gt_rows = s.pos_inds < 2
    assert torch.equal(s.pos_priors[gt_rows], gt.bboxes[s.pos_inds[gt_rows]])


def test_works_with_a_real_assignment() -> None:
    init_default_scope('segdet')
    overlaps = torch.tensor([[0.9, 0.1, 0.2, 0.0]])
    result = assign_by_overlaps(overlaps, torch.tensor([1]), 0.5, 0.3)
    sampler = TASK_UTILS.build(dict(type='RandomSampler', num=4, pos_fraction=0.5))
    s = sampler.sample(result, InstanceData(priors=torch.rand(4, 4)),
                       InstanceData(bboxes=torch.tensor([[0., 0., 1., 1.]]),
                                    labels=torch.tensor([1])))
    assert s.pos_inds.numel() == 2 and s.neg_inds.numel() == 2  # gt itself + prior 0
