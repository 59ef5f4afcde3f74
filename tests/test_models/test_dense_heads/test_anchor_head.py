"""AnchorHead and BaseDenseHead: per-level targets and losses, one-stage post-processing, the
PseudoSampler's averaging, hand-computed values."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from segdet.models.dense_heads import (AnchorHead, BaseDenseHead, filter_scores_and_topk,
                                       images_to_levels, levels_to_images)
from segdet.structures import DataSample

META = dict(img_shape=(64, 64), pad_shape=(64, 64))
GT = InstanceData(bboxes=torch.tensor([[16., 16, 48, 48]]), labels=torch.tensor([1]))


def _head(sampler=None, use_sigmoid=True, reg_decoded_bbox=False, strides=(16, ),
          num_classes=2, test_cfg=None) -> AnchorHead:
    """32-px square anchors (one per cell), zero-initialised 1x1 convs."""
    init_default_scope('segdet')
    train_cfg = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                                   min_pos_iou=0.3, match_low_quality=True),
                     allowed_border=-1, pos_weight=-1)
    if sampler is not None:
        train_cfg['sampler'] = sampler
    head = AnchorHead(
        num_classes=num_classes, in_channels=4,
        anchor_generator=dict(type='AnchorGenerator', scales=[32 // strides[0]],
                              ratios=[1.0], strides=list(strides)),
        reg_decoded_bbox=reg_decoded_bbox,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=use_sigmoid, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0), train_cfg=train_cfg,
        test_cfg=test_cfg)
    for conv in (head.conv_cls, head.conv_reg):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    return head


def test_images_to_levels_and_levels_to_images_are_inverse_layouts():
    per_image = [torch.arange(5.), torch.arange(5.) + 10]  # levels of 3 and 2 anchors
    levels = images_to_levels(per_image, [3, 2])
    assert levels[0].tolist() == [0, 1, 2, 10, 11, 12] and levels[1].tolist() == [3, 4, 13, 14]
    # (B, A * C, H, W) with A = 2, C = 3 -> rows cell-major, then anchor; columns the classes
    out = torch.arange(2 * 6 * 1 * 2.).view(2, 6, 1, 2)
    rows = levels_to_images([out], 3)
    assert rows[0][0].shape == (4, 3)
    assert rows[0][0][1].tolist() == [6, 8, 10]  # cell 0, anchor 1: channels 3, 4, 5
    assert rows[1][0][2].tolist() == [13, 15, 17]  # image 1, cell 1, anchor 0


def test_filter_scores_and_topk_keeps_the_best_pairs_above_the_threshold():
    scores = torch.tensor([[0.1, 0.9], [0.6, 0.05], [0.3, 0.7]])
    kept, labels, priors = filter_scores_and_topk(scores, 0.2, topk=2)
    assert kept.tolist() == pytest.approx([0.9, 0.7])
    assert labels.tolist() == [1, 1] and priors.tolist() == [0, 2]
    kept, labels, priors = filter_scores_and_topk(scores, 0.2, topk=-1)
    assert kept.tolist() == pytest.approx([0.9, 0.7, 0.6, 0.3])
    assert priors.tolist() == [0, 2, 1, 2] and labels.tolist() == [1, 1, 0, 0]


def test_sigmoid_head_with_pseudo_sampler_averages_over_positives():
    # 4x4 grid of 32-px anchors at stride 16: anchor 10 is the ground truth, four neighbours
    # (IoU 1/3) are ignored, 11 are negatives; PseudoSampler keeps all 12 and averages by 1.
    head = _head(sampler=dict(type='PseudoSampler'))
    cls_scores, bbox_preds = head([torch.zeros((1, 4, 4, 4))])
    losses = head.loss_by_feat(cls_scores, bbox_preds, [GT], [META])
    assert losses['loss_cls'].item() == pytest.approx(12 * 2 * math.log(2), rel=1e-5)
    assert losses['loss_bbox'].item() == pytest.approx(0.0, abs=1e-7)


def test_default_sampler_is_the_pseudo_sampler_and_random_sampler_counts_negatives():
    head = _head()
    assert type(head.sampler).__name__ == 'PseudoSampler'
    head = _head(sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5,
                              add_gt_as_proposals=False))
    losses = head.loss_by_feat(*head([torch.zeros((1, 4, 4, 4))]), [GT], [META])
    assert losses['loss_cls'].item() == pytest.approx(2 * math.log(2), rel=1e-5)


def test_softmax_head_has_a_background_channel():
    head = _head(use_sigmoid=False, num_classes=3)
    assert head.cls_out_channels == 4 and head.conv_cls.out_channels == 4
    losses = head.loss_by_feat(*head([torch.zeros((1, 4, 4, 4))]), [GT], [META])
    # zero logits: every kept anchor's CE is log(4); averaged over positives only
    assert losses['loss_cls'].item() == pytest.approx(12 * math.log(4), rel=1e-5)


def test_decoded_box_regression_compares_boxes():
    head = _head(reg_decoded_bbox=True)
    cls_scores, bbox_preds = head([torch.zeros((1, 4, 4, 4))])
    bbox_preds[0].data[0, 2, 2, 2] = math.log(1.5)  # anchor 10's width grows by 1.5
    losses = head.loss_by_feat(cls_scores, bbox_preds, [GT], [META])
    # decoded x1, x2 move by 8 px each from the 32-px box: L1 sum 16, one positive
    assert losses['loss_bbox'].item() == pytest.approx(16.0, rel=1e-5)


def test_per_level_losses_sum_to_one_loss_over_all_anchors():
    torch.manual_seed(0)
    head = _head(strides=(16, 32), sampler=dict(type='PseudoSampler'))
    head.prior_generator.base_anchors[1] = head.prior_generator.base_anchors[1] * 2
    feats = [torch.randn(2, 4, 4, 4), torch.randn(2, 4, 2, 2)]
    torch.nn.init.normal_(head.conv_cls.weight)
    torch.nn.init.normal_(head.conv_reg.weight)
    gts = [GT, InstanceData(bboxes=torch.tensor([[0., 0, 60, 60]]), labels=torch.tensor([0]))]
    cls_scores, bbox_preds = head(feats)
    losses = head.loss_by_feat(cls_scores, bbox_preds, gts, [META, META])
    anchors, valid = head.get_anchors([(4, 4), (2, 2)], [META, META])
    labels, label_weights, _, _, avg = head.get_targets(anchors, valid, gts, [META, META])
    flat_scores = torch.cat([c.permute(0, 2, 3, 1).reshape(2, -1, 2) for c in cls_scores], 1)
    flat_labels = torch.cat([lab.view(2, -1) for lab in labels], 1)
    flat_weights = torch.cat([w.view(2, -1) for w in label_weights], 1)
    whole = head.loss_cls(flat_scores.reshape(-1, 2), flat_labels.reshape(-1),
                          flat_weights.reshape(-1), avg_factor=avg)
    assert losses['loss_cls'].item() == pytest.approx(whole.item(), rel=1e-5)


def test_one_stage_prediction_decodes_thresholds_and_rescales():
    head = _head(test_cfg=dict(nms_pre=10, score_thr=0.55, nms=dict(iou_threshold=0.5),
                               max_per_img=2, min_bbox_size=0))
    with torch.no_grad():
        cls_scores, bbox_preds = head([torch.zeros((1, 4, 2, 2))])
        cls_scores[0][0, :, 0, 0] = torch.tensor([-5.0, 3.0])  # cell 0: class 1
        cls_scores[0][0, :, 1, 1] = torch.tensor([1.0, -5.0])  # cell 3: class 0
        cls_scores[0][0, :, 0, 1] = torch.tensor([0.5, -5.0])  # cell 1: class 0, weaker
    meta = dict(img_shape=(64, 64), scale_factor=(2.0, 2.0))
    out = head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=[meta],
                               rescale=True)[0]
    # the best two pairs (max_per_img): cells 0 and 3, 32-px anchors clipped, then halved
    assert out.labels.tolist() == [1, 0]
    assert out.scores.tolist() == pytest.approx([1 / (1 + math.exp(-3)),
                                                 1 / (1 + math.exp(-1))])
    assert torch.allclose(out.bboxes, torch.tensor([[0., 0, 8, 8], [0, 0, 16, 16]]))
    raw = head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=[meta],
                               with_nms=False)[0]
    assert len(raw) == 3  # untouched logits give 0.5 < score_thr; three pairs are above it
    assert torch.allclose(raw.bboxes[0], torch.tensor([0., 0, 16, 16]))


def test_predict_entry_point_reads_the_samples_metainfo():
    head = _head(test_cfg=dict(score_thr=0.0, nms=dict(iou_threshold=0.5), max_per_img=3))
    sample = DataSample(metainfo=META)
    out = head.predict((torch.zeros((1, 4, 4, 4)), ), [sample])
    assert len(out) == 1 and len(out[0]) == 3
    with pytest.raises(ValueError, match='no test_cfg'):
        _head().predict((torch.zeros((1, 4, 4, 4)), ), [sample])


def test_base_dense_head_is_abstract():
    with pytest.raises(TypeError, match='abstract'):
        BaseDenseHead()
