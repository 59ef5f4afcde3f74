"""BaseRoIHead / StandardRoIHead public API and the box and mask heads' mmdet 3.x entry points
(loss_and_target, predict_by_feat); the detector's tensor mode goes through roi_head.forward."""
import pytest
import torch
from detection_fixtures import box_sample, tiny_two_stage_cfg
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from segdet.models.detectors import BaseDetector
from segdet.models.roi_heads import BaseRoIHead, BBoxHead, FCNMaskHead
from segdet.models.task_modules.samplers import SamplingResult
from segdet.registry import MODELS
from segdet.structures.bbox import bbox2roi


def _model(with_mask=True):
    init_default_scope('segdet')
    torch.manual_seed(0)
    model = MODELS.build(tiny_two_stage_cfg(with_mask))
    model.init_weights()
    return model.eval()


def _batch(model):
    img, sample = box_sample(64, 96, [[10, 10, 40, 40]], [1])
    return model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)


def test_base_classes_are_abstract_and_name_the_branches():
    with pytest.raises(TypeError, match='abstract'):
        BaseRoIHead()
    with pytest.raises(TypeError, match='abstract'):
        BaseDetector()
    mask_rcnn, faster_rcnn = _model(True), _model(False)
    assert mask_rcnn.roi_head.with_bbox and mask_rcnn.roi_head.with_mask
    assert not mask_rcnn.roi_head.with_shared_head
    assert mask_rcnn.with_bbox and mask_rcnn.with_mask and mask_rcnn.with_neck
    assert faster_rcnn.with_bbox and not faster_rcnn.with_mask
    assert mask_rcnn.with_rpn and mask_rcnn.with_roi_head


def test_roi_head_forward_gives_the_raw_branch_outputs():
    model = _model(True)
    data = _batch(model)
    x = model.extract_feat(data['inputs'])
    proposals = model.rpn_head.predict(x, data['data_samples'])
    cls_score, bbox_pred, mask_preds = model.roi_head.forward(x, proposals)
    num = len(proposals[0])
    assert cls_score.shape == (num, 4) and bbox_pred.shape == (num, 12)
    # the mask branch runs on the first test_cfg.max_per_img (20) RoIs
    assert mask_preds.shape == (min(num, 20), 3, 28, 28)
    rois = bbox2roi([p.bboxes for p in proposals])
    inner = model.roi_head._bbox_forward(x, rois)
    torch.testing.assert_close(cls_score, inner['cls_score'])
    torch.testing.assert_close(bbox_pred, inner['bbox_pred'])


def test_tensor_mode_goes_through_the_public_roi_head_forward(monkeypatch):
    model = _model(False)
    data = _batch(model)
    calls = []
    original = model.roi_head.forward

    def recording_forward(x, rpn_results_list, batch_data_samples=None):
        calls.append(len(rpn_results_list))
        return original(x, rpn_results_list, batch_data_samples)

    monkeypatch.setattr(model.roi_head, 'forward', recording_forward)
    rpn_outs, roi_outs = model(data['inputs'], data['data_samples'], mode='tensor')
    assert calls == [1] and len(roi_outs) == 2 and len(rpn_outs[0]) == 5


def _sampling():
    pos = torch.tensor([[0., 0, 10, 10]])
    return SamplingResult(
        pos_inds=torch.arange(1), neg_inds=torch.arange(2),
        pos_assigned_gt_inds=torch.zeros(1, dtype=torch.long),
        pos_gt_bboxes=torch.tensor([[0., 0, 20, 10]]), pos_gt_labels=torch.tensor([1]),
        pos_priors=pos, neg_priors=torch.tensor([[5., 5, 9, 9], [1, 1, 2, 2]]), num_gts=1,
        gt_flags=torch.zeros(3, dtype=torch.uint8))


def test_bbox_head_loss_and_target_equals_loss_of_get_targets():
    init_default_scope('segdet')
    head = BBoxHead(in_channels=2, roi_feat_size=1, num_classes=3,
                    loss_bbox=dict(type='L1Loss', loss_weight=1.0))
    res = _sampling()
    rois = bbox2roi([res.priors])
    cls_score, bbox_pred = torch.randn(3, 4), torch.randn(3, 12)
    out = head.loss_and_target(cls_score, bbox_pred, rois, [res], dict(pos_weight=-1))
    assert set(out) == {'loss_bbox', 'bbox_targets'}
    assert set(out['loss_bbox']) == {'loss_cls', 'acc', 'loss_bbox'}
    targets = head.get_targets([res], dict(pos_weight=-1))
    for got, want in zip(out['bbox_targets'], targets):
        torch.testing.assert_close(got, want)
    direct = head.loss(cls_score, bbox_pred, rois, *targets)
    for key in direct:
        torch.testing.assert_close(out['loss_bbox'][key], direct[key])
    per_image = head.get_targets([res, res], None, concat=False)
    assert len(per_image) == 4 and len(per_image[0]) == 2
    unreduced = head.loss_and_target(cls_score, bbox_pred, rois, [res], None,
                                     reduction_override='none')['loss_bbox']
    assert unreduced['loss_cls'].shape == (3, )
    torch.testing.assert_close(unreduced['loss_cls'].sum() / 3, direct['loss_cls'])


def test_bbox_head_predict_by_feat_is_per_image():
    head = BBoxHead(in_channels=2, roi_feat_size=1, num_classes=2)
    rois = [torch.tensor([[0, 10., 10, 30, 30]]), torch.tensor([[1, 0., 0, 8, 8]] * 2)]
    scores = [torch.tensor([[0.0, 5.0, 0.0]]), torch.tensor([[5.0, 0.0, 0.0]] * 2)]
    deltas = [torch.zeros((1, 4)), torch.zeros((2, 4))]
    metas = [dict(img_shape=(50, 50)), dict(img_shape=(50, 50))]
    cfg = dict(score_thr=0.05, nms=dict(iou_threshold=0.5), max_per_img=10)
    deltas = [torch.zeros((1, 8)), torch.zeros((2, 8))]
    out = head.predict_by_feat(rois, scores, deltas, metas, cfg)
    assert [o.labels.tolist()[0] for o in out] == [1, 0]
    assert len(out[1]) == 1  # the duplicate box is suppressed
    raw = head.predict_by_feat(rois, scores, deltas, metas, None)
    assert raw[1].bboxes.shape == (2, 8) and raw[1].scores.shape == (2, 3)
    with pytest.raises(ValueError, match='2 RoI sets, 2 score sets, 2 delta sets and 1 images'):
        head.predict_by_feat(rois, scores, deltas, metas[:1], cfg)


def test_mask_head_loss_and_target_and_predict_by_feat():
    init_default_scope('segdet')
    head = FCNMaskHead(num_convs=1, in_channels=4, conv_out_channels=4, num_classes=2)
    masks = torch.zeros((1, 32, 32), dtype=torch.uint8)
    masks[0, :, 16:] = 1
    res = _sampling()
    out = head.loss_and_target(torch.zeros((1, 2, 4, 4)), [res],
                               [InstanceData(masks=masks)], dict(mask_size=4))
    assert set(out) == {'loss_mask', 'mask_targets'} and set(out['loss_mask']) == {'loss_mask'}
    assert out['mask_targets'].shape == (1, 4, 4)
    results = [InstanceData(bboxes=torch.tensor([[0., 0, 16, 16]]), labels=torch.tensor([1])),
               InstanceData(bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long))]
    preds = (torch.full((1, 2, 4, 4), 10.0), torch.zeros((0, 2, 4, 4)))
    metas = [dict(img_shape=(32, 32), ori_shape=(64, 64), scale_factor=(0.5, 0.5))] * 2
    out = head.predict_by_feat(preds, results, metas, dict(mask_thr_binary=0.5), rescale=True)
    assert out[0].masks.shape == (1, 64, 64) and out[1].masks.shape == (0, 64, 64)
    # the box (0, 0, 16, 16) in input pixels is (0, 0, 32, 32) in the original image
    assert bool(out[0].masks[0, 2:30, 2:30].all()) and not bool(out[0].masks[0, 34:, 34:].any())
    probs = head.predict_by_feat(preds[:1], [results[0].clone()], metas[:1],
                                 dict(mask_thr_binary=0.5), activate_map=True)
    assert probs[0].masks.shape == (1, 32, 32)
    # test_cfg.mask_paste: Detectron's / torchvision's pasting for their converted weights
    detectron = head.predict_by_feat(preds[:1], [results[0].clone()], metas[:1],
                                     dict(mask_thr_binary=0.5, mask_paste='detectron'))
    masks = detectron[0].masks
    assert masks.shape == (1, 32, 32) and bool(masks[0, 2:14, 2:14].all())
    assert not bool(masks[0, 18:].any())
    with pytest.raises(ValueError, match=r"mask_paste must be one of \['detectron', "
                                         r"'grid_sample'\], got 'cv2'"):
        head.predict_by_feat(preds[:1], [results[0].clone()], metas[:1],
                             dict(mask_thr_binary=0.5, mask_paste='cv2'))


def test_add_pred_to_datasample_returns_new_samples():
    model = _model(False)
    data = _batch(model)
    samples = data['data_samples']
    result = InstanceData(bboxes=torch.tensor([[0., 0, 10, 10]]), scores=torch.ones(1),
                          labels=torch.zeros(1, dtype=torch.long))
    flipped = samples[0].clone()
    flipped.set_metainfo(dict(flip=True, flip_direction='horizontal', ori_shape=(64, 96)))
    out = model.add_pred_to_datasample([flipped], [result])
    assert 'pred_instances' not in flipped and out[0] is not flipped
    assert out[0].pred_instances.bboxes.tolist() == [[86, 0, 96, 10]]
    assert torch.equal(out[0].gt_instances.bboxes, flipped.gt_instances.bboxes)
    with pytest.raises(ValueError, match='2 results for 1 samples'):
        model.add_pred_to_datasample(samples, [result, result])
