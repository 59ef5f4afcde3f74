"""RPNHead: anchor flags, per-level proposal selection and NMS, targets and losses."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from segdet.models.dense_heads import (RPNHead, anchor_inside_flags, nms_proposals,
                                       select_proposals)


def test_anchor_inside_flags_with_and_without_a_border():
    anchors = torch.tensor([[-4., 0, 10, 10], [0, 0, 10, 10], [5, 5, 21, 12]])
    valid = torch.tensor([True, True, False])
    assert anchor_inside_flags(anchors, valid, (20, 20), -1).tolist() == [True, True, False]
    assert anchor_inside_flags(anchors, valid, (20, 20), 0).tolist() == [False, True, False]
    assert anchor_inside_flags(anchors, torch.ones(3, dtype=torch.bool), (20, 20), 4).tolist() \
        == [True, True, True]


def test_select_proposals_keeps_the_best_per_level():
    scores = [torch.tensor([0.1, 0.9, 0.5, 0.7]), torch.tensor([0.2, 0.3])]
    deltas = [torch.arange(16.).view(4, 4), torch.zeros(2, 4)]
    priors = [torch.arange(16.).view(4, 4) + 100, torch.ones(2, 4)]
    score, delta, prior, level = select_proposals(scores, deltas, priors, nms_pre=2)
    assert score.tolist() == pytest.approx([0.9, 0.7, 0.2, 0.3])
    assert delta[0].tolist() == [4, 5, 6, 7] and delta[1].tolist() == [12, 13, 14, 15]
    assert prior[0].tolist() == [104, 105, 106, 107]
    assert level.tolist() == [0, 0, 1, 1]


def test_nms_runs_within_levels_and_filters_small_boxes():
    boxes = torch.tensor([[0., 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [0, 0, 0.5, 9]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    levels = torch.tensor([0, 0, 1, 1])
    kept, kept_scores = nms_proposals(boxes, scores, levels, 0.7, max_per_img=10,
                                      min_bbox_size=1.0)
    # box 1 is suppressed by box 0 (same level); box 2 survives (other level); box 3 is thin
    assert kept.tolist() == [[0, 0, 10, 10], [0, 0, 10, 10]]
    assert kept_scores.tolist() == pytest.approx([0.9, 0.7])
    kept, _ = nms_proposals(boxes, scores, levels, 0.7, max_per_img=1, min_bbox_size=-1)
    assert kept.tolist() == [[0, 0, 0.5, 9]]


def _head(**train_overrides) -> RPNHead:
    init_default_scope('segdet')
    train_cfg = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                      match_low_quality=True),
        sampler=dict(type='RandomSampler', num=16, pos_fraction=0.5,
                     add_gt_as_proposals=False),
        allowed_border=-1, pos_weight=-1)
    train_cfg.update(train_overrides)
    head = RPNHead(in_channels=4, feat_channels=4,
                   anchor_generator=dict(type='AnchorGenerator', scales=[2], ratios=[1.0],
                                         strides=[16]),
                   train_cfg=train_cfg,
                   test_cfg=dict(nms_pre=100, max_per_img=5,
                                 nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0))
    for conv in (head.rpn_conv, head.rpn_cls, head.rpn_reg):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    return head


META = dict(img_shape=(64, 64), pad_shape=(64, 64))


def test_targets_mark_the_matching_anchor_positive_and_ambiguous_ones_ignored():
    head = _head()
    anchors = head.prior_generator.grid_priors([(4, 4)])[0]  # 32 px squares centred on 16 i
    gt = InstanceData(bboxes=torch.tensor([[16., 16, 48, 48]]), labels=torch.tensor([2]))
    labels, label_weights, targets, target_weights, sampling = head._get_targets_single(
        anchors, torch.ones(16, dtype=torch.bool), gt, META, None)
    assert labels[10] == 0 and label_weights[10] == 1  # anchor (2, 2) is the ground truth
    assert torch.allclose(targets[10], torch.zeros(4)) and bool((target_weights[10] == 1).all())
    # anchors shifted by one cell overlap it with IoU 1/3: neither positive nor negative
    for idx in (6, 9, 11, 14):
        assert label_weights[idx] == 0
    # the other 11 anchors (IoU < 0.3) are all sampled as background (label 1)
    negatives = (label_weights > 0) & (torch.arange(16) != 10)
    assert int(negatives.sum()) == 11 and bool((labels[negatives] == 1).all())
    assert sampling.avg_factor == 12


def test_zero_head_loss_is_log2_for_objectness_and_zero_for_an_exact_anchor():
    head = _head()
    x = [torch.zeros((1, 4, 4, 4))]
    cls_scores, bbox_preds = head(x)
    gt = InstanceData(bboxes=torch.tensor([[16., 16, 48, 48]]), labels=torch.tensor([0]))
    losses = head.loss_by_feat(cls_scores, bbox_preds, [gt], [META])
    assert losses['loss_rpn_cls'].item() == pytest.approx(math.log(2), rel=1e-5)
    assert losses['loss_rpn_bbox'].item() == pytest.approx(0.0, abs=1e-7)


def test_image_without_ground_truth_has_only_negatives():
    head = _head()
    cls_scores, bbox_preds = head([torch.zeros((1, 4, 4, 4))])
    gt = InstanceData(bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long))
    losses = head.loss_by_feat(cls_scores, bbox_preds, [gt], [META])
    assert losses['loss_rpn_cls'].item() == pytest.approx(math.log(2), rel=1e-5)
    assert losses['loss_rpn_bbox'].item() == 0


def test_proposals_are_clipped_anchors_at_most_max_per_img():
    head = _head()
    with torch.no_grad():
        cls_scores, bbox_preds = head([torch.zeros((2, 4, 4, 4))])
    results = head.predict_by_feat(cls_scores, bbox_preds,
                                   batch_img_metas=[META, dict(img_shape=(40, 30))])
    assert len(results[0]) == 5 and len(results[1]) <= 5
    assert float(results[1].bboxes[:, 2].max()) <= 30 and float(results[1].bboxes[:, 3].max()) <= 40
    assert float(results[0].bboxes.min()) >= 0


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match='num_classes must be 1'):
        RPNHead(in_channels=4, num_classes=2)
    with pytest.raises(ValueError, match='use_sigmoid'):
        RPNHead(in_channels=4, loss_cls=dict(type='CrossEntropyLoss'))
