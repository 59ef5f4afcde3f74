"""DAHead (DANet): position and channel attention against hand-computed values, the three
outputs and their losses, the head inside EncoderDecoder, a loss-falls run and bad input."""
import math

import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import (assert_head_loss_falls, assert_runs_in_encoder_decoder,
                                   make_feats, make_labels, make_samples)

from segdet.models.decode_heads import CAM, PAM, DAHead
from segdet.models.decode_heads.da_head import channel_attention

BN = dict(type='BN')


def make_head(**kwargs) -> DAHead:
    cfg = dict(in_channels=8, channels=4, pam_channels=2, num_classes=3, norm_cfg=BN,
               dropout_ratio=0)
    return DAHead(**{**cfg, **kwargs})


def test_channel_attention_hand_computed():
    # channels c1 = (1, 2), c2 = (0, 1) over two positions: energy [[5, 2], [2, 1]];
    # rowmax - energy = [[0, 3], [0, 1]] -> rows softmax (1, e^3) / (1 + e^3), (1, e) / (1 + e)
    x = torch.tensor([[1., 2.], [0., 1.]]).reshape(1, 2, 1, 2)
    e3, e1 = math.exp(3), math.e
    expected = torch.tensor([[1 / (1 + e3), (2 + e3) / (1 + e3)],
                             [1 / (1 + e1), (2 + e1) / (1 + e1)]]).reshape(1, 2, 1, 2)
    torch.testing.assert_close(channel_attention(x), expected)
    cam = CAM()
    torch.testing.assert_close(cam(x), x)  # gamma starts at 0
    with torch.no_grad():
        cam.gamma.scale.fill_(0.5)
    torch.testing.assert_close(cam(x), 0.5 * expected + x)


def test_channel_attention_equals_the_definition():
    x = make_feats([(2, 3, 4, 5)])[0]
    flat = x.flatten(2)
    energy = torch.einsum('ncl,ndl->ncd', flat, flat)
    attn = torch.exp(-energy) / torch.exp(-energy).sum(-1, keepdim=True)  # shift-invariant
    torch.testing.assert_close(channel_attention(x),
                               torch.einsum('ncd,ndl->ncl', attn, flat).view_as(x),
                               rtol=1e-4, atol=1e-5)


def test_position_attention_hand_computed():
    # one channel, identity projections, two positions x = (1, 2): similarities x_i * x_j,
    # softmax over j: row 1 (1, e) / (1 + e), row 2 (e^2, e^4) / (e^2 + e^4)
    pam = PAM(in_channels=1, channels=1)
    x = torch.tensor([1., 2.]).reshape(1, 1, 1, 2)
    torch.testing.assert_close(pam(x), x)  # gamma starts at 0
    with torch.no_grad():
        for conv in (pam.query_project, pam.key_project, pam.value_project):
            conv.weight.fill_(1.)
            conv.bias.zero_()
        pam.gamma.scale.fill_(1.)
    e1, e2 = math.e, math.exp(2)
    context = torch.tensor([(1 + 2 * e1) / (1 + e1), (1 + 2 * e2) / (1 + e2)])
    torch.testing.assert_close(pam(x), (context + x.flatten()).reshape(1, 1, 1, 2))


def test_position_attention_equals_the_definition():
    torch.manual_seed(0)
    pam = PAM(in_channels=4, channels=2)
    assert {n for n, _ in pam.named_parameters()} == {
        'key_project.weight', 'key_project.bias', 'query_project.weight',
        'query_project.bias', 'value_project.weight', 'value_project.bias', 'gamma.scale'}
    with torch.no_grad():
        pam.gamma.scale.fill_(0.7)
    x = make_feats([(2, 4, 3, 5)])[0]
    q, k, v = (conv(x).flatten(2) for conv in
               (pam.query_project, pam.key_project, pam.value_project))
    attn = F.softmax(torch.einsum('ncl,ncm->nlm', q, k), dim=-1)   # unscaled dot products
    context = torch.einsum('nlm,ncm->ncl', attn, v).view_as(x)
    torch.testing.assert_close(pam(x), 0.7 * context + x)


def test_three_outputs_and_their_losses():
    head = make_head()
    feats = make_feats([(2, 8, 6, 6)])
    samples = make_samples(make_labels(2, 12, 12, 3, ignore_frac=0.2))
    outs = head(feats)
    assert len(outs) == 3 and all(o.shape == (2, 3, 6, 6) for o in outs)
    losses = head.loss(feats, samples, {})
    assert set(losses) == {f'{p}.{k}' for p in ('pam_cam', 'pam', 'cam')
                           for k in ('loss_ce', 'acc_seg')}
    labels = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    for prefix, logits in zip(('pam_cam', 'pam', 'cam'), outs):
        expected = F.cross_entropy(F.interpolate(logits, (12, 12), mode='bilinear'), labels,
                                   ignore_index=255, reduction='sum') / labels.numel()
        torch.testing.assert_close(losses[f'{prefix}.loss_ce'], expected)
    head.eval()
    with torch.no_grad():
        out = head.predict(feats, [dict(img_shape=(12, 12), pad_shape=(12, 12))] * 2, {})
        torch.testing.assert_close(
            out, F.interpolate(head(feats)[0], (12, 12), mode='bilinear'))


def test_in_encoder_decoder():
    assert_runs_in_encoder_decoder(
        dict(type='DAHead', in_channels=8, in_index=1, channels=4, pam_channels=2, num_classes=3,
             norm_cfg=BN),
        {f'{p}.{k}' for p in ('pam_cam', 'pam', 'cam') for k in ('loss_ce', 'acc_seg')})


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16, pam_channels=4))


def test_bad_input():
    with pytest.raises(ValueError, match='pam_channels must be >= 1, got 0'):
        make_head(pam_channels=0)
    with pytest.raises(TypeError, match='in_channels'):
        make_head(in_channels=[8])
    with pytest.raises(IndexError, match='in_index=3'):
        make_head(in_index=3)(make_feats([(1, 8, 6, 6)]))
    with pytest.raises(ValueError, match='got 1 outputs'):
        make_head().loss_by_feat([torch.zeros(1, 3, 6, 6)],
                                 make_samples(make_labels(1, 6, 6, 3)))
