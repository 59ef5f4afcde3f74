"""PointHead (PointRend): point logits, training points and losses, subdivision inference,
a loss-falls run and bad configs."""
import math

import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import (assert_loss_falls, label_encoding_batch, make_feats,
                                   make_labels, make_samples)

from segdet.models.decode_heads import PointHead
from segdet.ops import calculate_uncertainty, point_sample

TRAIN_CFG = dict(num_points=12, oversample_ratio=3, importance_sample_ratio=0.75)
TEST_CFG = dict(subdivision_steps=2, subdivision_num_points=10, scale_factor=2)


def make_head(**kwargs) -> PointHead:
    cfg = dict(in_channels=[4, 6], in_index=[0, 1], channels=8, num_classes=3,
               dropout_ratio=-1)
    return PointHead(**{**cfg, **kwargs})


def test_layers_and_point_logits():
    head = make_head(num_fcs=2)
    # fine features (4 + 6) and coarse logits (3) in; every later layer gets the logits again
    assert [fc.conv.in_channels for fc in head.fcs] == [13, 11]
    assert head.fc_seg.in_channels == 11 and not hasattr(head, 'conv_seg')
    assert head(torch.randn(2, 10, 7), torch.randn(2, 3, 7)).shape == (2, 3, 7)
    assert make_head(coarse_pred_each_layer=False).fc_seg.in_channels == 8
    assert isinstance(make_head(dropout_ratio=0.1).dropout, torch.nn.Dropout)


def test_loss_is_cross_entropy_at_the_training_points():
    head = make_head()
    feats = make_feats([(2, 4, 6, 6), (2, 6, 3, 3)])
    prev = torch.randn(2, 3, 6, 6)
    samples = make_samples(make_labels(2, 12, 12, 3, ignore_frac=0.2))
    torch.manual_seed(3)
    losses = head.loss(feats, prev, samples, TRAIN_CFG)
    assert set(losses) == {'pointloss_ce', 'acc_point'}
    torch.manual_seed(3)
    points = head.get_points_train(prev, calculate_uncertainty, TRAIN_CFG)
    assert points.shape == (2, 12, 2)
    fine = torch.cat([point_sample(f, points) for f in feats], dim=1)
    logits = head(fine, point_sample(prev, points))
    labels = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    # nearest label pixel of each point
    rows = (points[..., 1] * 12).long().clamp(max=11)
    cols = (points[..., 0] * 12).long().clamp(max=11)
    point_labels = labels[torch.arange(2)[:, None], rows, cols]
    assert (point_labels == 255).any()
    # mmseg's default (avg_non_ignore=False): the mean over all points, ignored ones count 0
    expected = F.cross_entropy(logits, point_labels, ignore_index=255,
                               reduction='sum') / point_labels.numel()
    torch.testing.assert_close(losses['pointloss_ce'], expected)


def test_predict_replaces_the_most_uncertain_cells_by_point_logits():
    head = make_head().eval()
    feats = make_feats([(1, 4, 4, 4), (1, 6, 2, 2)])
    prev = torch.randn(1, 3, 4, 4)
    cfg = dict(subdivision_steps=1, subdivision_num_points=5, scale_factor=2)
    meta = [dict(img_shape=(8, 8), pad_shape=(8, 8))]
    with torch.no_grad():
        out = head.predict(feats, prev, meta, cfg)
        up = F.interpolate(prev, scale_factor=2, mode='bilinear', align_corners=False)
        chosen = calculate_uncertainty(up).flatten(1).topk(5).indices[0]
        # the chosen cells hold the head's logits at their centres, the others the upsampling
        ys, xs = chosen // 8, chosen % 8
        centres = torch.stack([(xs + 0.5) / 8, (ys + 0.5) / 8], dim=-1)[None]
        point_logits = head(torch.cat([point_sample(f, centres) for f in feats], dim=1),
                            point_sample(prev, centres))
    assert out.shape == (1, 3, 8, 8)
    torch.testing.assert_close(out[0, :, ys, xs], point_logits[0])
    keep = torch.ones(64, dtype=torch.bool)
    keep[chosen] = False
    torch.testing.assert_close(out.flatten(2)[..., keep], up.flatten(2)[..., keep])


def test_predict_refines_every_cell_when_the_map_is_small():
    # 2 steps from 3x3: 36 then 144 cells, fewer than subdivision_num_points (as mmseg)
    head = make_head().eval()
    feats = make_feats([(2, 4, 6, 6), (2, 6, 3, 3)])
    cfg = dict(subdivision_steps=2, subdivision_num_points=1000, scale_factor=2)
    meta = [dict(img_shape=(20, 20), pad_shape=(24, 24))] * 2
    with torch.no_grad():
        out = head.predict(feats, torch.randn(2, 3, 3, 3), meta, cfg)
    assert out.shape == (2, 3, 24, 24)
    # no subdivision step: the previous logits, resized
    prev = torch.randn(2, 3, 3, 3)
    with torch.no_grad():
        out0 = head.predict(feats, prev, meta, dict(cfg, subdivision_steps=0))
    torch.testing.assert_close(out0, F.interpolate(prev, (24, 24), mode='bilinear'))


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    head = make_head(in_channels=[4], in_index=[0], channels=16)
    feats, samples = label_encoding_batch()
    prev = torch.zeros(2, 3, 8, 8)

    def loss_fn():
        torch.manual_seed(1)  # the same points each step: one fixed batch
        return head.loss([feats], prev, samples, TRAIN_CFG)

    values = assert_loss_falls(head, loss_fn)
    assert math.isclose(values[0], math.log(3), rel_tol=0.2)


def test_bad_configs():
    head = make_head()
    feats = make_feats([(1, 4, 4, 4), (1, 6, 2, 2)])
    prev = torch.randn(1, 3, 4, 4)
    samples = make_samples(make_labels(1, 8, 8, 3))
    meta = [dict(img_shape=(8, 8), pad_shape=(8, 8))]
    with pytest.raises(KeyError, match='num_points'):
        head.loss(feats, prev, samples, dict(oversample_ratio=3, importance_sample_ratio=0.5))
    with pytest.raises(KeyError, match='train_cfg'):
        head.loss(feats, prev, samples, None)
    with pytest.raises(ValueError, match='oversample_ratio'):
        head.loss(feats, prev, samples, dict(TRAIN_CFG, oversample_ratio=0.5))
    with pytest.raises(ValueError, match='importance_sample_ratio'):
        head.loss(feats, prev, samples, dict(TRAIN_CFG, importance_sample_ratio=2))
    with pytest.raises(KeyError, match='subdivision_steps'):
        head.predict(feats, prev, meta, dict(mode='slide'))
    with pytest.raises(ValueError, match='subdivision_num_points'):
        head.predict(feats, prev, meta, dict(TEST_CFG, subdivision_num_points=0))
    with pytest.raises(ValueError, match='num_fcs'):
        make_head(num_fcs=-1)
    with pytest.raises(TypeError, match='in_channels'):
        make_head(in_channels=4, in_index=0)
    with pytest.raises(ValueError, match='in_channels'):
        make_head(in_channels=[4, 6], in_index=[0])


def test_pointrend_in_cascade_encoder_decoder():
    from mmengine.registry import init_default_scope

    from segdet.registry import MODELS
    init_default_scope('segdet')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='CascadeEncoderDecoder', num_stages=2,
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=4,
                      out_indices=(0, 1, 2, 3), dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2)),
        neck=dict(type='FPN', in_channels=[4, 8, 16, 32], out_channels=8, num_outs=4),
        decode_head=[
            dict(type='FPNHead', in_channels=[8] * 4, in_index=[0, 1, 2, 3],
                 feature_strides=[4, 8, 16, 32], channels=8, dropout_ratio=-1, num_classes=3,
                 norm_cfg=dict(type='BN')),
            dict(type='PointHead', in_channels=[8], in_index=[0], channels=8, num_classes=3,
                 dropout_ratio=-1)],
        train_cfg=dict(TRAIN_CFG),
        test_cfg=dict(mode='whole', subdivision_steps=2, subdivision_num_points=50,
                      scale_factor=2)))
    inputs = torch.randn(2, 3, 32, 32)
    samples = make_samples(make_labels(2, 32, 32, 3, ignore_frac=0.2))
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'decode_0.loss_ce', 'decode_0.acc_seg', 'decode_1.pointloss_ce',
                           'decode_1.acc_point'}
    model.eval()
    with torch.no_grad():
        # tensor mode: the FPN head's stride-4 logits refined twice by 2: stride 1
        assert model(inputs, mode='tensor').shape == (2, 3, 32, 32)
        preds = model(inputs, samples, mode='predict')
    assert preds[0].pred_sem_seg.data.shape == (1, 32, 32)
    model.train_cfg = dict(oversample_ratio=3, importance_sample_ratio=0.75)
    model.train()
    with pytest.raises(KeyError, match='num_points'):  # the segmentor's train_cfg reaches it
        model(inputs, samples, mode='loss')
