"""Faster / Mask R-CNN end to end on tiny models: losses fall, the prediction contract holds,
flips and resizes are undone, images without objects train."""
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from segdet.models.detectors import undo_flip
from segdet.registry import MODELS

from detection_fixtures import box_sample, tiny_two_stage_cfg

LOSS_KEYS = {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'acc', 'loss_bbox'}


def build(with_mask=True):
    init_default_scope('segdet')
    torch.manual_seed(0)
    model = MODELS.build(tiny_two_stage_cfg(with_mask))
    model.init_weights()
    return model


def two_image_batch():
    data = [box_sample(96, 128, [[10, 10, 50, 60], [70, 20, 120, 80]], [0, 2], seed=0),
            box_sample(128, 96, [[20, 30, 70, 90]], [1], seed=1)]
    return dict(inputs=[d[0] for d in data], data_samples=[d[1] for d in data])


def total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def test_mask_rcnn_losses_fall_over_training_steps():
    model = build()
    batch = two_image_batch()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    history = []
    for _ in range(12):
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        assert set(losses) == LOSS_KEYS | {'loss_mask'}
        assert all(torch.isfinite(v).all() for v in losses.values())
        optimizer.zero_grad()
        total(losses).backward()
        optimizer.step()
        history.append({k: float(v.detach()) for k, v in losses.items()})
    first, last = history[0], history[-1]
    assert last['loss_rpn_cls'] < 0.5 * first['loss_rpn_cls']
    assert last['loss_mask'] < 0.5 * first['loss_mask']
    def summed(h):
        return sum(v for k, v in h.items() if k.startswith('loss'))
    assert sum(map(summed, history[-3:])) < sum(map(summed, history[:3]))


def test_prediction_contract_at_the_original_size():
    model = build().eval()
    # the network input is half the original size (scale_factor 0.5)
    img, sample = box_sample(64, 96, [[10, 10, 40, 40]], [1], scale=0.5)
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
    pred = model(**data, mode='predict')[0].pred_instances
    n = len(pred)
    assert 0 < n <= 20
    assert pred.bboxes.shape == (n, 4) and pred.scores.shape == (n, )
    assert pred.labels.shape == (n, ) and pred.labels.dtype == torch.long
    assert pred.masks.shape == (n, 128, 192) and pred.masks.dtype == torch.bool
    assert float(pred.bboxes[:, 2].max()) <= 192 + 1e-3
    assert float(pred.bboxes[:, 3].max()) <= 128 + 1e-3
    assert bool((pred.scores[:-1] >= pred.scores[1:]).all())
    # boxes are the input-space boxes divided by the scale factor
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
    x = model.extract_feat(data['inputs'])
    proposals = model.rpn_head.predict(x, data['data_samples'])
    raw = model.roi_head.predict(x, proposals, data['data_samples'], rescale=False)[0]
    assert torch.allclose(raw.bboxes / 0.5, pred.bboxes, atol=1e-4)
    assert raw.masks.shape == (n, 64, 96)


def test_faster_rcnn_predicts_boxes_without_masks_and_tensor_mode_runs():
    model = build(with_mask=False).eval()
    batch = two_image_batch()
    data = model.data_preprocessor(batch, False)
    samples = model(**data, mode='predict')
    assert all('masks' not in s.pred_instances for s in samples)
    rpn_outs, (cls_score, bbox_pred) = model(data['inputs'], data['data_samples'],
                                             mode='tensor')
    assert len(rpn_outs[0]) == 5 and cls_score.shape[1] == 4 and bbox_pred.shape[1] == 12


def test_an_image_without_objects_trains():
    model = build()
    img, sample = box_sample(64, 64, [], [])
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), True)
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert losses['loss_bbox'].item() == 0 and losses['loss_mask'].item() == 0
    total(losses).backward()


def test_undo_flip_maps_boxes_and_masks_back():
    masks = torch.zeros((1, 4, 6), dtype=torch.bool)
    masks[0, 0, 0] = True
    res = InstanceData(bboxes=torch.tensor([[0., 0, 2, 1]]), masks=masks)
    out = undo_flip(res, dict(flip=True, flip_direction='horizontal', ori_shape=(4, 6)))
    assert out.bboxes.tolist() == [[4, 0, 6, 1]] and bool(out.masks[0, 0, 5])
    res = InstanceData(bboxes=torch.tensor([[0., 0, 2, 1]]))
    out = undo_flip(res, dict(flip=True, flip_direction='diagonal', ori_shape=(4, 6)))
    assert out.bboxes.tolist() == [[4, 3, 6, 4]]
    assert undo_flip(res, dict(flip=False)) is res


def test_c4_mask_rcnn_shares_the_roi_features_with_its_mask_head():
    """R-50-C4 (configs/_base_/models/mask-rcnn_r50-caffe-c4.py): one RPN level, the ResLayer
    shared head before both heads; trains a step and predicts masks at the original size."""
    from mmengine.config import Config

    from detection_fixtures import REPO_CONFIGS
    from segdet.engine import without_pretrained
    init_default_scope('segdet')
    # Without the config's ImageNet weights (no test downloads): random initialisation.
    cfg = without_pretrained(
        Config.fromfile(str(REPO_CONFIGS / '_base_/models/mask-rcnn_r50-caffe-c4.py')).model)
    cfg.roi_head.bbox_head.num_classes = cfg.roi_head.mask_head.num_classes = 3
    cfg.train_cfg.rpn.sampler.num = 32
    cfg.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=50)
    cfg.train_cfg.rcnn.sampler.num = 16
    cfg.test_cfg.rpn.update(nms_pre=200, max_per_img=20)
    cfg.test_cfg.rcnn.update(score_thr=0.0, max_per_img=5)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    assert model.roi_head.share_roi_extractor and model.roi_head.with_shared_head
    img, sample = box_sample(64, 96, [[8, 8, 40, 40]], [1])
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), True)
    losses = model(**data, mode='loss')
    assert set(losses) == LOSS_KEYS | {'loss_mask'}
    assert all(torch.isfinite(v).all() for v in losses.values())
    total(losses).backward()
    model.eval()
    img, sample = box_sample(64, 96, [[8, 8, 40, 40]], [1], scale=0.5)
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
    pred = model(**data, mode='predict')[0].pred_instances
    assert len(pred) == 5 and pred.masks.shape == (5, 128, 192)
