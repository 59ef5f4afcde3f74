"""Keypoint R-CNN's keypoint branch: heatmap targets and loss on hand-made cases, parity with
torchvision's keypoint head and decoding, the RoI head's training and inference, and the
keypoint flip undone at test time."""
import math

import pytest
import torch
from detection_fixtures import box_sample, tiny_two_stage_cfg
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from torchvision.models.detection import keypoint_rcnn as tv_keypoint_rcnn
from torchvision.models.detection import roi_heads as tv_roi_heads

from segdet.models.detectors import undo_flip, unflip_keypoints
from segdet.models.roi_heads import KeypointRCNNHead
from segdet.models.roi_heads.keypoint_heads import (heatmaps_to_keypoints,
                                                    keypoint_heatmap_loss,
                                                    keypoints_to_heatmap_targets)
from segdet.registry import MODELS


# ------------------------------------------------------------------------- targets and loss
def test_heatmap_targets_hand_made():
    # One RoI 0..8 x 0..4 on a 4x4 heatmap: cells are 2 px wide and 1 px high.
    rois = torch.tensor([[0., 0., 8., 4.]])
    keypoints = torch.tensor([[[3.0, 2.5, 2],    # cell (row 2, col 1) -> 9
                               [8.0, 4.0, 2],    # on the right and bottom edges -> last cell 15
                               [5.0, 1.0, 0],    # unlabelled
                               [9.0, 1.0, 2],    # outside the RoI (x > x2)
                               [-0.5, 1.0, 1],   # outside (x < x1), labelled but occluded
                               [0.0, 0.0, 1]]])  # top-left corner, occluded but labelled -> 0
    targets, valid = keypoints_to_heatmap_targets(keypoints, rois, 4)
    assert valid.tolist() == [[True, True, False, False, False, True]]
    assert targets.tolist() == [[9, 15, 0, 0, 0, 0]]


def test_heatmap_targets_equal_torchvision():
    g = torch.Generator().manual_seed(0)
    rois = torch.rand(20, 2, generator=g) * 50
    rois = torch.cat([rois, rois + 5 + torch.rand(20, 2, generator=g) * 40], 1)
    keypoints = torch.cat([torch.rand(20, 17, 2, generator=g) * 100,
                           torch.randint(0, 3, (20, 17, 1), generator=g).float()], 2)
    keypoints[0, 0, :2] = rois[0, 2:]  # the border case
    targets, valid = keypoints_to_heatmap_targets(keypoints, rois, 56)
    tv_targets, tv_valid = tv_roi_heads.keypoints_to_heatmap(keypoints, rois, 56)
    assert torch.equal(valid, tv_valid.bool()) and valid.any() and not valid.all()
    assert torch.equal(targets, tv_targets)


def test_loss_hand_made():
    # Two RoIs, two keypoints, 2x2 heatmaps; three valid keypoints.
    heatmaps = torch.zeros(2, 2, 2, 2)
    heatmaps[0, 0, 0, 1] = math.log(5.0)  # softmax over 4 cells: p(target cell 1) = 5/8
    heatmaps[1, 1, 1, 1] = math.log(3.0)  # p(cell 3) = 3/6
    targets = torch.tensor([[1, 0], [2, 3]])
    valid = torch.tensor([[True, False], [True, True]])
    expected = -(math.log(5 / 8) + math.log(1 / 4) + math.log(3 / 6)) / 3  # RoI 1 kp 0: flat
    assert keypoint_heatmap_loss(heatmaps, targets, valid).item() == pytest.approx(expected)
    none = keypoint_heatmap_loss(heatmaps.requires_grad_(), targets, torch.zeros_like(valid))
    assert none.item() == 0 and none.requires_grad


def test_loss_equals_torchvision():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 17, 56, 56, generator=g)
    boxes = torch.tensor([[0., 0., 40., 60.], [10., 5., 30., 25.], [2., 2., 50., 50.]] * 2)
    keypoints = torch.cat([torch.rand(6, 17, 2, generator=g) * 50,
                           torch.randint(0, 3, (6, 17, 1), generator=g).float()], 2)
    targets, valid = keypoints_to_heatmap_targets(keypoints, boxes, 56)
    tv = tv_roi_heads.keypointrcnn_loss(logits, [boxes[:3], boxes[3:]],
                                        [keypoints[:3], keypoints[3:]],
                                        [torch.arange(3), torch.arange(3)])
    assert keypoint_heatmap_loss(logits, targets, valid).item() == pytest.approx(tv.item(),
                                                                                rel=1e-6)


# ------------------------------------------------------------------ head parity, decoding
def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='num_keypoints'):
        KeypointRCNNHead(num_keypoints=0)
    with pytest.raises(ValueError, match='deconv_kernel_size'):
        KeypointRCNNHead(deconv_kernel_size=3)


def copy_torchvision_head(head: KeypointRCNNHead, tv_head, tv_predictor) -> None:
    """torchvision's KeypointRCNNHeads (Sequential conv, ReLU, ...) and predictor -> segdet."""
    convs = [m for m in tv_head if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        for ours, theirs in zip(head.convs, convs):
            ours.conv.weight.copy_(theirs.weight)
            ours.conv.bias.copy_(theirs.bias)
        head.deconv_logits.weight.copy_(tv_predictor.kps_score_lowres.weight)
        head.deconv_logits.bias.copy_(tv_predictor.kps_score_lowres.bias)


def test_head_and_decoding_equal_torchvision():
    torch.manual_seed(0)
    # torchvision's keypointrcnn_resnet50_fpn head: 8 x conv3x3-512 on 256-channel features
    # (random weights; the shapes are those of the published model).
    tv_head = tv_keypoint_rcnn.KeypointRCNNHeads(256, (512, ) * 8)
    tv_predictor = tv_keypoint_rcnn.KeypointRCNNPredictor(512, 17)
    head = KeypointRCNNHead(num_keypoints=17, in_channels=256, conv_out_channels=512)
    copy_torchvision_head(head, tv_head, tv_predictor)
    feats = torch.randn(5, 256, 14, 14)
    with torch.no_grad():
        ours = head(feats)
        theirs = tv_predictor(tv_head(feats))
    assert ours.shape == (5, 17, 56, 56)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    boxes = torch.tensor([[10., 20., 60.5, 120.], [0., 0., 1., 1.], [5., 5., 30., 12.2],
                          [100., 40., 230., 90.], [3.3, 7.7, 40.1, 80.9]])
    keypoints, scores = heatmaps_to_keypoints(ours, boxes)
    tv_points, tv_scores = tv_roi_heads.heatmaps_to_keypoints(theirs, boxes)
    torch.testing.assert_close(keypoints, tv_points[..., :2])
    torch.testing.assert_close(scores, tv_scores)
    # Every keypoint lies in its box.
    assert (keypoints[..., 0] >= boxes[:, None, 0]).all()
    assert (keypoints[..., 0] <= boxes[:, None, 0] + (boxes[:, None, 2] - boxes[:, None, 0])
            .clamp(min=1)).all()


def test_decoding_finds_a_planted_peak():
    heatmaps = torch.zeros(1, 2, 56, 56)
    heatmaps[0, 0, 10, 40] = 10.0
    heatmaps[0, 1, 50, 3] = 10.0
    box = torch.tensor([[100., 200., 156., 256.]])  # 56 x 56: one pixel per cell
    keypoints, scores = heatmaps_to_keypoints(heatmaps, box)
    assert keypoints[0].tolist() == [[140.5, 210.5], [103.5, 250.5]]
    assert (scores > 5).all()


# ------------------------------------------------------------------------------ RoI head
def keypoint_rcnn_cfg(num_keypoints: int = 3) -> dict:
    """The tiny Faster R-CNN of the detection fixtures with a 2-conv keypoint branch."""
    cfg = tiny_two_stage_cfg(with_mask=False, num_classes=1)
    cfg['type'] = 'KeypointRCNN'
    cfg['roi_head']['type'] = 'KeypointRoIHead'
    cfg['roi_head']['keypoint_roi_extractor'] = dict(
        type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=14,
                                                  sampling_ratio=2),
        out_channels=32, featmap_strides=[4, 8, 16, 32])
    cfg['roi_head']['keypoint_head'] = dict(type='KeypointRCNNHead',
                                            num_keypoints=num_keypoints, num_convs=2,
                                            in_channels=32, conv_out_channels=32)
    return cfg


def keypoint_batch(model, flip: bool = False):
    img, sample = box_sample(64, 96, [[10, 10, 50, 40], [60, 20, 90, 60]], [0, 0])
    # Three keypoints per box: its top-left corner, its centre (occluded) and an unlabelled one.
    kps = []
    for x1, y1, x2, y2 in sample.gt_instances.bboxes.tolist():
        kps.append([[x1 + 2, y1 + 2, 2], [(x1 + x2) / 2, (y1 + y2) / 2, 1], [0, 0, 0]])
    sample.gt_instances.keypoints = torch.tensor(kps)
    sample.set_metainfo(dict(flip=flip, flip_direction='horizontal', flip_indices=[0, 1, 2]))
    return model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), True)


def build(cfg):
    init_default_scope('segdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_keypoint_loss_falls_and_predictions_have_keypoints():
    model = build(keypoint_rcnn_cfg())
    batch = keypoint_batch(model)
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    first = None
    for _ in range(15):
        losses = model(**batch, mode='loss')
        assert set(losses) >= {'loss_cls', 'loss_bbox', 'loss_keypoint'}
        if first is None:
            first = losses['loss_keypoint'].item()
        total = sum(v for k, v in losses.items() if 'loss' in k and torch.is_tensor(v))
        optim.zero_grad()
        total.backward()
        optim.step()
    assert losses['loss_keypoint'].item() < 0.5 * first
    assert model.roi_head.keypoint_head.convs[0].conv.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        pred = model(**batch, mode='predict')[0].pred_instances
        raw = model(**batch, mode='tensor')
    n = len(pred)
    assert n > 0 and pred.keypoints.shape == (n, 3, 2) and pred.keypoint_scores.shape == (n, 3)
    assert raw[1][-1].shape[1:] == (3, 56, 56)  # roi_head.forward: ..., heatmaps


def test_no_labelled_keypoint_gives_a_zero_loss_with_gradients():
    model = build(keypoint_rcnn_cfg())
    batch = keypoint_batch(model)
    batch['data_samples'][0].gt_instances.keypoints[..., 2] = 0
    losses = model(**batch, mode='loss')
    assert losses['loss_keypoint'].item() == 0
    losses['loss_keypoint'].backward()
    assert model.roi_head.keypoint_head.deconv_logits.weight.grad is not None


def test_missing_gt_keypoints_is_named():
    model = build(keypoint_rcnn_cfg())
    batch = keypoint_batch(model)
    del batch['data_samples'][0].gt_instances.keypoints
    with pytest.raises(KeyError, match='with_keypoints=True'):
        model(**batch, mode='loss')


def test_rescale_maps_keypoints_to_the_original_image():
    model = build(keypoint_rcnn_cfg()).eval()
    img, sample = box_sample(64, 96, [[10, 10, 50, 40]], [0], scale=2.0)
    batch = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
    with torch.no_grad():
        feats = model.extract_feat(batch['inputs'])
        proposals = model.rpn_head.predict(feats, batch['data_samples'])
        at_input = model.roi_head.predict(feats, proposals, batch['data_samples'], False)[0]
        at_orig = model.roi_head.predict(feats, proposals, batch['data_samples'], True)[0]
    torch.testing.assert_close(at_orig.keypoints, at_input.keypoints / 2)
    torch.testing.assert_close(at_orig.bboxes, at_input.bboxes / 2)


# ----------------------------------------------------------------------------- flip undone
def test_unflip_swaps_left_and_right():
    # Keypoints 0 = nose, 1 = left eye, 2 = right eye, predicted on a horizontally flipped
    # 100-px-wide view.
    view = torch.tensor([[[50., 10.], [40., 8.], [60., 8.]]])
    back = unflip_keypoints(view, (30, 100), 'horizontal', [0, 2, 1])
    # Mirrored (x -> 100 - x), then channel j takes the view's flip_indices[j].
    assert back.tolist() == [[[50., 10.], [40., 8.], [60., 8.]]]
    asym = torch.tensor([[[50., 10.], [30., 8.], [60., 9.]]])
    assert unflip_keypoints(asym, (30, 100), 'horizontal', [0, 2, 1]).tolist() == \
        [[[50., 10.], [40., 9.], [70., 8.]]]
    assert unflip_keypoints(asym, (30, 100), 'diagonal', None).tolist() == \
        [[[50., 20.], [70., 22.], [40., 21.]]]
    with pytest.raises(ValueError, match='flip_indices'):
        unflip_keypoints(asym, (30, 100), 'vertical', None, where='a.jpg')


def test_undo_flip_moves_keypoint_scores_with_their_keypoints():
    results = InstanceData(bboxes=torch.tensor([[10., 0., 30., 20.]]),
                           keypoints=torch.tensor([[[15., 5.], [25., 5.]]]),
                           keypoint_scores=torch.tensor([[0.9, 0.1]]))
    meta = dict(flip=True, flip_direction='horizontal', ori_shape=(20, 40),
                flip_indices=[1, 0])
    out = undo_flip(results, meta)
    assert out.bboxes.tolist() == [[10., 0., 30., 20.]]
    assert out.keypoints.tolist() == [[[15., 5.], [25., 5.]]]
    torch.testing.assert_close(out.keypoint_scores, torch.tensor([[0.1, 0.9]]))
