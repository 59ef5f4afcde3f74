"""MaxIoUAssigner rules on hand-made overlaps and boxes."""
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from segdet.models.task_modules import assign_by_overlaps
from segdet.registry import TASK_UTILS


def test_rules_on_an_overlap_matrix() -> None:
    # 2 ground truths x 5 priors
    overlaps = torch.tensor([[0.8, 0.35, 0.1, 0.0, 0.45],
                             [0.2, 0.30, 0.6, 0.0, 0.45]])
    labels = torch.tensor([3, 7])
    r = assign_by_overlaps(overlaps, labels, pos_iou_thr=0.5, neg_iou_thr=0.4,
                           match_low_quality=False)
    # prior 0 -> gt 1 (0.8); 1 -> neg (0.35 < 0.4); 2 -> gt 2 (0.6); 3 -> neg; 4 -> ignored
    assert r.gt_inds.tolist() == [1, 0, 2, 0, -1]
    assert r.labels.tolist() == [3, -1, 7, -1, -1]
    torch.testing.assert_close(r.max_overlaps, torch.tensor([0.8, 0.35, 0.6, 0.0, 0.45]))
    r = assign_by_overlaps(overlaps, labels, pos_iou_thr=0.9, neg_iou_thr=(0.0, 0.3),
                           min_pos_iou=0.3)
    # Nothing reaches 0.9; only prior 3 (0.0) is in [0, 0.3); low-quality matches give each
    # ground truth its best prior: gt 1 -> prior 0 (0.8), gt 2 -> prior 2 (0.6).
    assert r.gt_inds.tolist() == [1, -1, 2, 0, -1]


def test_low_quality_ties_and_empty() -> None:
    overlaps = torch.tensor([[0.3, 0.3, 0.1]])
    all_ties = assign_by_overlaps(overlaps, torch.tensor([0]), 0.5, 0.2, min_pos_iou=0.2)
    assert all_ties.gt_inds.tolist() == [1, 1, 0]
    first = assign_by_overlaps(overlaps, torch.tensor([0]), 0.5, 0.2, min_pos_iou=0.2,
                               gt_max_assign_all=False)
    assert first.gt_inds.tolist() == [1, -1, 0]
    no_gt = assign_by_overlaps(torch.zeros(0, 4), torch.zeros(0), 0.5, 0.4)
    assert no_gt.gt_inds.tolist() == [0, 0, 0, 0] and no_gt.labels.tolist() == [-1] * 4


def test_assigner_with_boxes_and_ignored_regions() -> None:
    init_default_scope('segdet')
    assigner = TASK_UTILS.build(dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                                     min_pos_iou=0.3, ignore_iof_thr=0.5))
    priors = torch.tensor([[0., 0., 10., 10.], [0., 0., 9., 10.], [50., 50., 60., 60.],
                           [100., 100., 110., 110.]])
    gt = InstanceData(bboxes=torch.tensor([[0., 0., 10., 10.]]), labels=torch.tensor([2]))
    crowd = InstanceData(bboxes=torch.tensor([[95., 95., 120., 120.]]))
    r = assigner.assign(InstanceData(priors=priors), gt, crowd)
    # prior 0: IoU 1 -> pos; prior 1: IoU 0.9 -> pos; prior 2: 0 -> neg; prior 3 in crowd -> ignore
    assert r.gt_inds.tolist() == [1, 1, 0, -1]
    assert r.labels.tolist() == [2, 2, -1, -1]
