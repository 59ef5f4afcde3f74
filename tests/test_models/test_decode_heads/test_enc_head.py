"""EncHead (EncNet): the Encoding layer against hand-computed values, the SE loss, the head
inside EncoderDecoder, a loss-falls run and bad input."""
import math

import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import (assert_head_loss_falls, assert_runs_in_encoder_decoder,
                                   make_feats, make_labels, make_samples)
from torch import nn

from segdet.models.decode_heads import EncHead
from segdet.models.decode_heads.enc_head import class_presence, norm_cfg_1d
from segdet.models.utils.encoding import Encoding, aggregate, scaled_l2

BN = dict(type='BN')


def make_head(**kwargs) -> EncHead:
    cfg = dict(in_channels=[4, 8], in_index=(0, 1), channels=6, num_codes=3, num_classes=3,
               norm_cfg=BN, dropout_ratio=0)
    return EncHead(**{**cfg, **kwargs})


def test_encoding_hand_computed():
    # codewords d1 = (0, 0), d2 = (1, 0); features x1 = (1, 0), x2 = (0, 1); scale -1 for both.
    # ||x1 - d||^2 = (1, 0) -> a1 = softmax(-1, 0) = (s, 1 - s), s = 1 / (1 + e)
    # ||x2 - d||^2 = (1, 2) -> a2 = softmax(-1, -2) = (1 - s, s)
    # e1 = s (x1 - d1) + (1 - s)(x2 - d1) = (s, 1 - s)
    # e2 = (1 - s)(x1 - d2) + s (x2 - d2) = (0, 0) + s (-1, 1)
    enc = Encoding(channels=2, num_codes=2)
    with torch.no_grad():
        enc.codewords.copy_(torch.tensor([[0., 0.], [1., 0.]]))
        enc.scale.fill_(-1.)
    x = torch.tensor([[1., 0.], [0., 1.]]).t().reshape(1, 2, 1, 2)   # (N, C, H, W), L = 2
    s = 1 / (1 + math.e)
    expected = torch.tensor([[[s, 1 - s], [-s, s]]])
    torch.testing.assert_close(enc(x), expected)
    assert enc(x).shape == (1, 2, 2)


def test_encoding_functions_equal_the_residual_definition():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 12, 5, generator=g)            # (N, L, C)
    codewords = torch.randn(3, 5, generator=g)
    scale = -torch.rand(3, generator=g)
    residual = x[:, :, None, :] - codewords[None, None]                # (N, L, K, C)
    torch.testing.assert_close(scaled_l2(x, codewords, scale),
                               scale * residual.pow(2).sum(-1))
    weights = F.softmax(scaled_l2(x, codewords, scale), dim=2)
    torch.testing.assert_close(aggregate(weights, x, codewords),
                               (weights[..., None] * residual).sum(1))
    # the module is the two functions on the flattened map; mmseg's static-method names
    enc = Encoding(channels=5, num_codes=3)
    fmap = x.transpose(1, 2).reshape(2, 5, 3, 4)
    torch.testing.assert_close(
        enc(fmap), Encoding.aggregate(
            F.softmax(Encoding.scaled_l2(x, enc.codewords, enc.scale), dim=2), x,
            enc.codewords))
    assert enc.codewords.abs().max() <= 1 / math.sqrt(15)
    assert (enc.scale < 0).all() and (enc.scale >= -1).all()


def test_class_presence_and_norm_cfg_1d():
    label = torch.tensor([[[0, 0], [2, 255]], [[1, 1], [1, 1]]])
    torch.testing.assert_close(class_presence(label, 4),
                               torch.tensor([[1., 0., 1., 0.], [0., 1., 0., 0.]]))
    assert norm_cfg_1d(dict(type='BN', requires_grad=True)) == dict(
        type='BN1d', requires_grad=True)
    assert norm_cfg_1d(dict(type='SyncBN')) == dict(type='SyncBN')
    assert norm_cfg_1d(None) == dict(type='BN1d')


def test_forward_shapes_and_losses():
    head = make_head(add_lateral=True)
    assert len(head.lateral_convs) == 1 and head.fusion.conv.in_channels == 12
    assert isinstance(head.enc_module.encoding[1], nn.BatchNorm1d)
    feats = make_feats([(2, 4, 6, 6), (2, 8, 6, 6)])
    samples = make_samples(make_labels(2, 12, 12, 3, ignore_frac=0.2))
    seg_logits, se_logits = head(feats)
    assert seg_logits.shape == (2, 3, 6, 6) and se_logits.shape == (2, 3)
    losses = head.loss(feats, samples, {})
    assert set(losses) == {'loss_ce', 'acc_seg', 'loss_se'}
    # loss_se: 0.2 * mean BCE of the SE logits against the classes present (255 not counted)
    labels = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    present = torch.stack([torch.isin(torch.arange(3), lab[lab != 255]) for lab in labels])
    expected = 0.2 * F.binary_cross_entropy_with_logits(se_logits, present.float())
    torch.testing.assert_close(losses['loss_se'], expected)
    head.eval()
    with torch.no_grad():
        out = head.predict(feats, [dict(img_shape=(10, 10), pad_shape=(12, 12))] * 2, {})
        torch.testing.assert_close(
            out, F.interpolate(head(feats)[0], (12, 12), mode='bilinear'))


def test_without_se_loss():
    head = make_head(use_se_loss=False)
    assert not hasattr(head, 'se_layer') and not hasattr(head, 'lateral_convs')
    feats = make_feats([(2, 4, 6, 6), (2, 8, 6, 6)])
    assert head(feats).shape == (2, 3, 6, 6)
    losses = head.loss(feats, make_samples(make_labels(2, 6, 6, 3)), {})
    assert set(losses) == {'loss_ce', 'acc_seg'}


def test_in_encoder_decoder():
    assert_runs_in_encoder_decoder(
        dict(type='EncHead', in_channels=[4, 8], in_index=(0, 1), channels=6, num_codes=3,
             num_classes=3, norm_cfg=BN),
        {'loss_ce', 'acc_seg', 'loss_se'})


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=[4], in_index=(0, ), channels=16, num_codes=4))


def test_bad_input():
    with pytest.raises(ValueError, match="input_transform.*'resize_concat'"):
        make_head(input_transform='resize_concat')
    with pytest.raises(TypeError, match='in_channels'):
        make_head(in_channels=8, in_index=1)
    with pytest.raises(ValueError, match=r'in_channels=\[4, 8\].*in_index=\(0, 1, 2\)'):
        make_head(in_index=(0, 1, 2))
    with pytest.raises(ValueError, match='num_codes'):
        make_head(num_codes=0)
    with pytest.raises(TypeError, match='loss_se_decode'):
        make_head(loss_se_decode='CrossEntropyLoss')
    with pytest.raises(IndexError, match=r'in_index=\(0, 1\)'):
        make_head()(make_feats([(1, 4, 6, 6)]))
    with pytest.raises(ValueError, match=r'Encoding: input must be \(N, 5, H, W\)'):
        Encoding(5, 2)(torch.randn(1, 4, 3, 3))
