"""The detection APIs a port of mmdetection 3.x code calls (issue 19, points 1-3), each checked
against its documented behaviour on hand-made cases."""
import math

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from segdet.models.dense_heads import RPNHead
from segdet.models.roi_heads import BBoxHead, SingleRoIExtractor
from segdet.models.task_modules import AnchorGenerator, DeltaXYWHBBoxCoder, SamplingResult
from segdet.structures.bbox import bbox_overlaps


# ---------------------------------------------------------------------------- bbox_overlaps
def test_giou_hand_computed_full_and_aligned():
    a = torch.tensor([[0., 0, 10, 10], [0, 0, 10, 10]])
    b = torch.tensor([[10., 10, 20, 20], [0, 0, 5, 5], [0, 0, 10, 10]])
    giou = bbox_overlaps(a[:1], b, mode='giou')
    # disjoint: IoU 0, enclosing 400, union 200 -> -0.5; nested: IoU 0.25, enclosing = union
    torch.testing.assert_close(giou, torch.tensor([[-0.5, 0.25, 1.0]]))
    aligned = bbox_overlaps(a, b[:2], mode='giou', is_aligned=True)
    torch.testing.assert_close(aligned, torch.tensor([-0.5, 0.25]))
    assert bbox_overlaps(torch.zeros(0, 4), b, mode='giou').shape == (0, 3)


# -------------------------------------------------------------------------- AnchorGenerator
def test_anchor_generator_mmdet_api():
    gen = AnchorGenerator(strides=[8, (16, 12)], ratios=[0.5, 1.0], scales=[4, 8])
    assert gen.strides == [(8, 8), (16, 12)]
    assert gen.num_base_priors == gen.num_base_anchors == [4, 4]
    sizes = [(3, 5), (2, 3)]
    grid = gen.grid_priors(sizes)
    for got, want in zip(gen.grid_anchors(sizes), grid):
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(gen.single_level_grid_priors(sizes[1], 1), grid[1])
    idx = torch.tensor([0, 5, 13, 23])
    for level in (0, 1):
        torch.testing.assert_close(gen.sparse_priors(idx, sizes[level], level),
                                   grid[level][idx])
    # row 13 of level 1: cell 3 (x index 0, y index 1), base anchor 1
    assert torch.allclose(grid[1][13], gen.base_anchors[1][1] + torch.tensor([0., 12, 0, 12]))
    flags = gen.single_level_valid_flags((2, 3), (1, 2), 2)
    assert flags.tolist() == [True] * 4 + [False] * 2 + [False] * 6


# ---------------------------------------------------------------------- DeltaXYWHBBoxCoder
def test_batched_decode_equals_per_image_decode():
    coder = DeltaXYWHBBoxCoder(target_stds=(0.1, 0.1, 0.2, 0.2))
    g = torch.Generator().manual_seed(0)
    boxes = torch.rand(2, 3, 2, generator=g) * 20
    boxes = torch.cat([boxes, boxes + 10 + torch.rand(2, 3, 2, generator=g) * 30], dim=-1)
    deltas = torch.randn(2, 3, 8, generator=g)
    shapes = [(25, 30), (40, 35)]
    out = coder.decode(boxes, deltas, max_shape=shapes)
    assert out.shape == (2, 3, 8)
    for i in range(2):
        torch.testing.assert_close(out[i], coder.decode(boxes[i], deltas[i], shapes[i]))
    one = coder.decode(boxes, deltas, max_shape=(25, 30))
    torch.testing.assert_close(one[1], coder.decode(boxes[1], deltas[1], (25, 30)))
    torch.testing.assert_close(coder.decode(boxes, deltas), torch.stack(
        [coder.decode(boxes[i], deltas[i]) for i in range(2)]))
    with pytest.raises(ValueError, match='2 image shapes for a batch of 3'):
        coder.decode(boxes.repeat(2, 1, 1)[:3], deltas.repeat(2, 1, 1)[:3], max_shape=shapes)


# -------------------------------------------------------------------------- RoI extraction
def _extractor():
    return SingleRoIExtractor(roi_layer=dict(type='RoIAlign', output_size=2, sampling_ratio=2),
                              out_channels=3, featmap_strides=[4, 8, 16, 32])


def test_roi_extractor_uses_the_maps_it_is_given():
    torch.manual_seed(0)
    ext = _extractor()
    feats = [torch.randn(1, 3, 32, 32), torch.randn(1, 3, 16, 16)]
    rois = torch.tensor([[0., 0, 0, 20, 20], [0, 0, 0, 120, 120], [0, 10, 10, 60, 50]])
    # one map: every RoI is pooled from it, whatever its size
    torch.testing.assert_close(ext(feats[:1], rois), ext.roi_layers[0](feats[0], rois))
    # two maps: levels are clamped to the second one
    out = ext(feats, rois)
    torch.testing.assert_close(out[0], ext.roi_layers[0](feats[0], rois[:1])[0])
    torch.testing.assert_close(out[1], ext.roi_layers[1](feats[1], rois[1:2])[0])
    assert ext.map_roi_levels(rois, 4).tolist() == [0, 1, 0]


def test_roi_extractor_scales_rois_about_their_centres():
    torch.manual_seed(0)
    ext = _extractor()
    feats = [torch.randn(1, 3, 32, 32)]
    rois = torch.tensor([[0., 10, 20, 30, 40]])
    assert ext.roi_rescale(rois, 1.5).tolist() == [[0, 5, 15, 35, 45]]
    torch.testing.assert_close(ext(feats, rois, roi_scale_factor=1.5),
                               ext.roi_layers[0](feats[0], ext.roi_rescale(rois, 1.5)))


# ---------------------------------------------------------------------------- refine_bboxes
def test_refine_bboxes_moves_rois_by_their_class_deltas_and_drops_added_gts():
    head = BBoxHead(in_channels=2, roi_feat_size=1, num_classes=2,
                    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_stds=[1.0] * 4))
    # image 0: a ground truth added as proposal (positive, class 1), a positive of class 0,
    # a background RoI whose best class is 1; image 1: one background RoI
    res0 = SamplingResult(
        pos_inds=torch.tensor([0, 1]), neg_inds=torch.tensor([2]),
        pos_assigned_gt_inds=torch.tensor([0, 0]),
        pos_gt_bboxes=torch.zeros(2, 4), pos_gt_labels=torch.tensor([1, 0]),
        pos_priors=torch.tensor([[0., 0, 10, 10], [0, 0, 20, 20]]),
        neg_priors=torch.tensor([[5., 5, 15, 15]]), num_gts=1,
        gt_flags=torch.tensor([1, 0, 0], dtype=torch.uint8))
    res1 = SamplingResult(
        pos_inds=torch.zeros(0, dtype=torch.long), neg_inds=torch.tensor([0]),
        pos_assigned_gt_inds=torch.zeros(0, dtype=torch.long), pos_gt_bboxes=torch.zeros(0, 4),
        pos_gt_labels=torch.zeros(0, dtype=torch.long), pos_priors=torch.zeros(0, 4),
        neg_priors=torch.tensor([[0., 0, 8, 8]]), num_gts=0,
        gt_flags=torch.zeros(1, dtype=torch.uint8))
    rois = torch.tensor([[0., 0, 0, 10, 10], [0, 0, 0, 20, 20], [0, 5, 5, 15, 15],
                         [1, 0, 0, 8, 8]])
    bbox_pred = torch.zeros(4, 8)
    bbox_pred[1, 0] = 0.5                 # class 0 of RoI 1: shift x by half its width
    bbox_pred[2, 4 + 1] = 0.2             # class 1 of RoI 2: shift y by 0.2 of its height
    bbox_pred[3, 2:4] = math.log(2)       # class 0 of RoI 3: double its size
    cls_score = torch.tensor([[0., 0, 9], [9, 0, 0], [0, 5, 9], [5, 0, 9]])
    labels = torch.tensor([1, 0, 2, 2])  # background = 2
    refined = head.refine_bboxes(
        [res0, res1], dict(rois=rois, cls_score=cls_score, bbox_pred=bbox_pred,
                           bbox_targets=(labels, None, None, None)),
        [dict(img_shape=(30, 30)), dict(img_shape=(30, 30))])
    assert refined[0].bboxes.tolist() == [[10, 0, 30, 20], [5, 7, 15, 17]]
    assert refined[1].bboxes.tolist() == [[-4 + 4, 0, 12, 12]]  # doubled about (4, 4), clipped
    assert head.refine_bboxes([res1], dict(rois=rois[:0], cls_score=cls_score[:0],
                                           bbox_pred=bbox_pred[:0],
                                           bbox_targets=(labels[:0], )), []) is None


# ------------------------------------------------------------------------------------- RPN
def test_rpn_head_accepts_config_configdict_and_dict():
    init_default_scope('segdet')
    train = dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3),
                 sampler=dict(type='RandomSampler', num=8, pos_fraction=0.5))
    test = dict(nms_pre=10, max_per_img=5, nms=dict(type='nms', iou_threshold=0.7))
    for wrap in (dict, ConfigDict, Config):
        head = RPNHead(in_channels=4, train_cfg=wrap(train), test_cfg=wrap(test))
        assert isinstance(head.test_cfg, ConfigDict) and head.test_cfg.max_per_img == 5
        assert type(head.sampler).__name__ == 'RandomSampler'
    with pytest.raises(TypeError, match='train_cfg must be a dict, ConfigDict or Config'):
        RPNHead(in_channels=4, train_cfg=[train])


def test_rpn_bbox_post_process_rescales_before_the_size_filter():
    init_default_scope('segdet')
    head = RPNHead(in_channels=4)
    results = InstanceData(bboxes=torch.tensor([[0., 0, 3, 3], [10, 10, 20, 20],
                                                [11, 11, 20, 20]]),
                           scores=torch.tensor([0.9, 0.8, 0.7]),
                           level_ids=torch.tensor([0, 0, 1]))
    cfg = ConfigDict(min_bbox_size=4, nms=dict(iou_threshold=0.5), max_per_img=10)
    meta = dict(scale_factor=(0.5, 0.5))
    # input space: the 3-px box is dropped; the two overlapping boxes are on different levels
    out = head._bbox_post_process(results, cfg, rescale=False, img_meta=meta)
    assert out.bboxes.tolist() == [[10, 10, 20, 20], [11, 11, 20, 20]]
    assert out.labels.tolist() == [0, 0]
    # rescaled first (mmdet's order): 6 px > 4 survives, boxes in original pixels
    out = head._bbox_post_process(results, cfg, rescale=True, img_meta=meta)
    assert out.bboxes.tolist() == [[0, 0, 6, 6], [20, 20, 40, 40], [22, 22, 40, 40]]
    assert out.scores.tolist() == pytest.approx([0.9, 0.8, 0.7])
