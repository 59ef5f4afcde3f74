"""RoI level mapping and extraction, per-class NMS, box-head targets/losses/decoding, mask head
targets, and the C4 shared head."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from torchvision.ops import roi_align as tv_roi_align

from segdet.models.roi_heads import (BBoxHead, FCNMaskHead, ResLayer, Shared2FCBBoxHead,
                                     Shared4Conv1FCBBoxHead, SingleRoIExtractor,
                                     map_roi_levels, multiclass_nms)
from segdet.models.task_modules.samplers import SamplingResult


def rois_of_size(sizes):
    return torch.tensor([[0, 0, 0, s, s] for s in sizes], dtype=torch.float32)


def test_roi_levels_follow_the_fpn_rule():
    levels = map_roi_levels(rois_of_size([20, 56, 111, 112, 224, 448, 1000]), 4, 56)
    assert levels.tolist() == [0, 0, 0, 1, 2, 3, 3]


def test_single_roi_extractor_pools_each_roi_on_its_level():
    g = torch.Generator().manual_seed(0)
    feats = [torch.rand((2, 3, 32, 32), generator=g), torch.rand((2, 3, 16, 16), generator=g)]
    rois = torch.tensor([[0, 4., 4, 40, 40], [1, 0, 0, 120, 120], [1, 10, 20, 30, 50]])
    extractor = SingleRoIExtractor(dict(type='RoIAlign', output_size=5, sampling_ratio=0),
                                   out_channels=3, featmap_strides=[4, 8])
    out = extractor(feats, rois)
    assert out.shape == (3, 3, 5, 5)
    levels = map_roi_levels(rois, 2)
    assert levels.tolist() == [0, 1, 0]
    for i, level in enumerate(levels.tolist()):
        expected = tv_roi_align(feats[level], rois[i:i + 1], (5, 5), 1 / [4, 8][level], 0, True)
        assert torch.allclose(out[i:i + 1], expected)
    assert extractor(feats, torch.zeros((0, 5))).shape == (0, 3, 5, 5)


def test_multiclass_nms_by_class_with_threshold_and_cap():
    bboxes = torch.tensor([[0., 0, 10, 10] * 2, [1, 1, 10, 10] * 2, [50, 50, 60, 60] * 2])
    scores = torch.tensor([[0.9, 0.05, 0.05], [0.8, 0.15, 0.05], [0.01, 0.6, 0.39]])
    boxes, kept_scores, labels = multiclass_nms(bboxes, scores, 0.1, 0.5)
    # class 0: box 1 suppressed by box 0; class 1: boxes 1 and 2 (box 0 below 0.1)
    assert kept_scores.tolist() == pytest.approx([0.9, 0.6, 0.15])
    assert labels.tolist() == [0, 1, 1]
    assert boxes[1].tolist() == [50, 50, 60, 60]
    assert len(multiclass_nms(bboxes, scores, 0.1, 0.5, max_num=2)[0]) == 2
    assert len(multiclass_nms(bboxes, scores, 0.95, 0.5)[0]) == 0


def _sampling(pos_priors, pos_gt, labels, neg_priors):
    num_pos = pos_priors.shape[0]
    return SamplingResult(
        pos_inds=torch.arange(num_pos), neg_inds=torch.arange(neg_priors.shape[0]),
        pos_assigned_gt_inds=torch.zeros(num_pos, dtype=torch.long), pos_gt_bboxes=pos_gt,
        pos_gt_labels=torch.tensor(labels), pos_priors=pos_priors, neg_priors=neg_priors,
        num_gts=1, gt_flags=torch.zeros(num_pos + neg_priors.shape[0], dtype=torch.uint8))


def test_box_head_targets_and_losses_follow_mmdet_averaging():
    init_default_scope('segdet')
    head = BBoxHead(in_channels=2, roi_feat_size=1, num_classes=3,
                    loss_bbox=dict(type='L1Loss', loss_weight=1.0))
    res = _sampling(torch.tensor([[0., 0, 10, 10]]), torch.tensor([[0., 0, 20, 10]]), [1],
                    torch.tensor([[5., 5, 9, 9], [1, 1, 2, 2], [3, 3, 8, 8]]))
    labels, label_weights, targets, weights = head.get_targets([res], {})
    assert labels.tolist() == [1, 3, 3, 3] and label_weights.tolist() == [1, 1, 1, 1]
    # x-centre moves 5 px of a 10-px box (/0.1), width doubles (log 2 / 0.2)
    assert targets[0].tolist() == pytest.approx([5.0, 0.0, math.log(2) / 0.2, 0.0])
    assert weights.sum() == 4
    cls_score = torch.zeros((4, 4))
    bbox_pred = torch.zeros((4, 12))
    rois = torch.zeros((4, 5))  # not read when regressing deltas
    losses = head.loss(cls_score, bbox_pred, rois, labels, label_weights, targets, weights)
    assert losses['loss_cls'].item() == pytest.approx(math.log(4), rel=1e-5)
    # L1 of the positive's own-class deltas, divided by all 4 sampled RoIs
    assert losses['loss_bbox'].item() == pytest.approx((5.0 + math.log(2) / 0.2) / 4, rel=1e-5)
    confident = torch.tensor([[0., 9, 0, 0], [0, 0, 0, 9], [0, 0, 0, 9], [9, 0, 0, 0]])
    acc = head.loss(confident, bbox_pred, rois, labels, label_weights, targets,
                    weights)['acc']
    assert acc.item() == pytest.approx(75.0)


def test_box_head_decodes_and_rescales_to_the_original_image():
    head = BBoxHead(in_channels=2, roi_feat_size=1, num_classes=2)
    rois = torch.tensor([[0, 10., 10, 30, 30]])
    cls_score = torch.tensor([[0.0, 5.0, 0.0]])
    out = head.predict_by_feat((rois, ), (cls_score, ), (torch.zeros((1, 8)), ),
                               [dict(img_shape=(50, 50), scale_factor=(2.0, 2.0))],
                               dict(score_thr=0.05, nms=dict(iou_threshold=0.5),
                                    max_per_img=10), rescale=True)[0]
    assert out.labels.tolist()[0] == 1
    assert out.bboxes[0].tolist() == pytest.approx([5, 5, 15, 15])


def test_convfc_heads_have_mmdet_layouts():
    h2 = Shared2FCBBoxHead(in_channels=8, fc_out_channels=16, roi_feat_size=7, num_classes=5)
    assert [tuple(fc.weight.shape) for fc in h2.shared_fcs] == [(16, 392), (16, 16)]
    h4 = Shared4Conv1FCBBoxHead(in_channels=8, conv_out_channels=8, fc_out_channels=16,
                                roi_feat_size=7, num_classes=5,
                                norm_cfg=dict(type='GN', num_groups=4))
    keys = set(h4.state_dict())
    assert 'shared_convs.3.gn.weight' in keys and 'shared_convs.0.conv.bias' not in keys
    cls, reg = h4(torch.rand(3, 8, 7, 7))
    assert cls.shape == (3, 6) and reg.shape == (3, 20)


def test_mask_head_targets_losses_and_output_size():
    init_default_scope('segdet')
    head = FCNMaskHead(num_convs=1, in_channels=4, conv_out_channels=4, num_classes=2)
    preds = head(torch.rand(2, 4, 14, 14))
    assert preds.shape == (2, 2, 28, 28)
    masks = torch.zeros((1, 32, 32), dtype=torch.uint8)
    masks[0, :, 16:] = 1
    res = _sampling(torch.tensor([[0., 0, 32, 32], [16, 0, 32, 32]]),
                    torch.tensor([[16., 0, 32, 32]] * 2), [1, 1], torch.zeros((0, 4)))
    targets = head.get_targets([res], [InstanceData(masks=masks)], dict(mask_size=4))
    assert targets.tolist() == [[[0, 0, 1, 1]] * 4, [[1, 1, 1, 1]] * 4]
    loss = head.loss(torch.zeros((2, 2, 4, 4)), targets, torch.tensor([1, 1]))['loss_mask']
    assert loss.item() == pytest.approx(math.log(2), rel=1e-5)


def test_c4_shared_head_is_resnet_stage_4():
    head = ResLayer(depth=50, stage=3, stride=2, style='caffe',
                    norm_cfg=dict(type='BN', requires_grad=False))
    out = head(torch.rand(2, 1024, 14, 14))
    assert out.shape == (2, 2048, 7, 7)
    assert head.layer4[0].conv1.stride == (2, 2)  # caffe: stride on the 1x1
    head.train()
    assert not head.layer4[0].bn1.training  # norm_eval
