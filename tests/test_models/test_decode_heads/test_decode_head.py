"""BaseDecodeHead: inputs, losses, accuracy, prediction resizing, validation."""
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import make_feats, make_labels, make_samples, zero_classifier

from segdet.models.decode_heads import BaseDecodeHead
from segdet.models.decode_heads.decode_head import stack_gt_sem_seg, transform_inputs


class PlainHead(BaseDecodeHead):
    """The smallest concrete head: classify the selected input directly."""

    def forward(self, inputs):
        return self.cls_seg(self._transform_inputs(inputs))


def _head(**kwargs):
    cfg = dict(in_channels=8, channels=8, num_classes=5, dropout_ratio=0)
    cfg.update(kwargs)
    return PlainHead(**cfg)


# ---------------------------------------------------------------- losses
@pytest.mark.parametrize('align_corners,label_size', [(False, (8, 8)), (True, (7, 7))])
def test_loss_equals_torch_after_bilinear_resize(align_corners, label_size):
    torch.manual_seed(0)
    head = _head(align_corners=align_corners)
    x = make_feats([(2, 8, 4, 4)])
    labels = make_labels(2, *label_size, 5, ignore_frac=0.3)
    losses = head.loss(x, make_samples(labels), {})
    logits = F.interpolate(head(x), size=label_size, mode='bilinear',
                           align_corners=align_corners)
    ref = F.cross_entropy(logits, labels, ignore_index=255, reduction='none')
    # mmseg's default avg_non_ignore=False: the mean runs over all pixels
    torch.testing.assert_close(losses['loss_ce'], ref.sum() / labels.numel())


def test_ignored_pixels_do_not_contribute():
    head = _head()
    labels = make_labels(2, 6, 6, 5, ignore_frac=0.4)
    ignored = (labels == 255)[:, None].expand(2, 5, 6, 6)
    logits = torch.randn(2, 5, 6, 6, generator=torch.Generator().manual_seed(3))
    changed = logits.clone()
    changed[ignored] = 1e3 * torch.randn(int(ignored.sum()))
    a = head.loss_by_feat(logits, make_samples(labels))
    b = head.loss_by_feat(changed, make_samples(labels))
    torch.testing.assert_close(a['loss_ce'], b['loss_ce'])
    torch.testing.assert_close(a['acc_seg'], b['acc_seg'])


def test_zero_logits_loss_with_and_without_avg_non_ignore():
    labels = make_labels(2, 4, 4, 5, ignore_frac=0.5)
    valid_frac = (labels != 255).float().mean().item()
    logits = torch.zeros(2, 5, 4, 4)
    plain = _head().loss_by_feat(logits, make_samples(labels))
    assert plain['loss_ce'].item() == pytest.approx(math.log(5) * valid_frac, rel=1e-6)
    non_ign = _head(loss_decode=dict(type='CrossEntropyLoss', avg_non_ignore=True))
    assert non_ign.loss_by_feat(logits, make_samples(labels))['loss_ce'].item() == \
        pytest.approx(math.log(5), rel=1e-6)


def test_acc_seg_hand_case():
    # predictions (argmax) 0 1 / 2 3; labels 0 1 / 3 255 -> 2 hits of 3 counted
    logits = F.one_hot(torch.tensor([[0, 1], [2, 3]]), 5).permute(2, 0, 1)[None].float()
    labels = torch.tensor([[[0, 1], [3, 255]]])
    losses = _head().loss_by_feat(logits, make_samples(labels))
    torch.testing.assert_close(losses['acc_seg'], torch.tensor([200.0 / 3]))


def test_several_losses_sum_by_name():
    torch.manual_seed(0)
    x = make_feats([(2, 8, 4, 4)])
    samples = make_samples(make_labels(2, 4, 4, 5, ignore_frac=0.2))
    single = _head()
    base = single.loss(x, samples)['loss_ce']
    two = _head(loss_decode=[dict(type='CrossEntropyLoss'),
                             dict(type='CrossEntropyLoss', loss_weight=0.5)])
    two.load_state_dict(single.state_dict())
    torch.testing.assert_close(two.loss(x, samples)['loss_ce'], 1.5 * base)
    named = _head(loss_decode=[dict(type='CrossEntropyLoss'),
                               dict(type='CrossEntropyLoss', loss_name='loss_aux')])
    named.load_state_dict(single.state_dict())
    assert set(named.loss(x, samples)) == {'loss_ce', 'loss_aux', 'acc_seg'}


def test_losses_run_in_fp32_under_autocast():
    head = _head()
    x = make_feats([(2, 8, 4, 4)])
    samples = make_samples(make_labels(2, 8, 8, 5))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert head(x).dtype == torch.bfloat16
        losses = head.loss(x, samples)
    assert losses['loss_ce'].dtype == torch.float32
    with torch.no_grad():
        ref = F.cross_entropy(F.interpolate(head(x).float(), (8, 8), mode='bilinear'),
                              stack_gt_sem_seg(samples))
    torch.testing.assert_close(losses['loss_ce'], ref, atol=0.05, rtol=0.05)


def test_binary_head_uses_sigmoid_loss_and_threshold():
    head = _head(num_classes=2, out_channels=1, threshold=0.5,
                 loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    assert (head.out_channels, head.num_classes, head.threshold) == (1, 2, 0.5)
    labels = torch.tensor([[[0, 1], [1, 255]]])
    zero_classifier(head)
    losses = head.loss(make_feats([(1, 8, 2, 2)]), make_samples(labels))
    # zero logit: BCE = log 2 on each of the 3 valid pixels, mean over 4 pixels
    assert losses['loss_ce'].item() == pytest.approx(math.log(2) * 3 / 4, rel=1e-6)
    # sigmoid(0) = 0.5 is not > 0.5: predicts 0 everywhere -> 1 of 3 right
    torch.testing.assert_close(losses['acc_seg'], torch.tensor([100.0 / 3]))
    logits = torch.tensor([[[[2.0, -2.0], [0.1, 9.0]]]])
    ref = F.binary_cross_entropy_with_logits(logits[0, 0].flatten()[:3],
                                             torch.tensor([0., 1., 1.]), reduction='sum') / 4
    torch.testing.assert_close(head.loss_by_feat(logits, make_samples(labels))['loss_ce'], ref)
    with pytest.warns(UserWarning, match='threshold'):
        default = _head(num_classes=2, out_channels=1,
                        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))
    assert default.threshold == 0.3


def test_binary_head_with_the_default_softmax_loss_is_refused_with_the_fix():
    # mmseg builds this head; softmax CE over one channel cannot learn (the refusal's reason):
    logits = torch.randn(1, 1, 2, 2, requires_grad=True)
    loss = F.cross_entropy(logits, torch.zeros(1, 2, 2, dtype=torch.long))
    loss.backward()
    assert loss.item() == 0.0 and not logits.grad.any()
    with pytest.raises(IndexError):  # label 1 is out of range for one channel
        F.cross_entropy(logits, torch.ones(1, 2, 2, dtype=torch.long))
    # segdet refuses it when the head is built, and says what to set.
    with pytest.raises(ValueError, match=r"use_sigmoid=True.*out_channels=num_classes \(2\)"), \
            warnings.catch_warnings():
        warnings.simplefilter('ignore')
        _head(num_classes=2, out_channels=1, threshold=0.5)
    with pytest.raises(ValueError, match='CrossEntropyLoss has use_sigmoid=False'):
        _head(num_classes=2, out_channels=1, threshold=0.5,
              loss_decode=[dict(type='CrossEntropyLoss', use_sigmoid=True),
                           dict(type='CrossEntropyLoss', loss_name='loss_aux')])


# ---------------------------------------------------------------- inputs and prediction
def test_transform_inputs_modes():
    feats = make_feats([(2, 3, 8, 8), (2, 4, 4, 4), (2, 5, 2, 2)])
    assert transform_inputs(feats, 1, None, False) is feats[1]
    selected = transform_inputs(feats, (2, 0), 'multiple_select', False)
    assert selected[0] is feats[2] and selected[1] is feats[0]
    cat = transform_inputs(feats, (1, 2), 'resize_concat', True)
    ref = torch.cat([feats[1], F.interpolate(feats[2], (4, 4), mode='bilinear',
                                             align_corners=True)], dim=1)
    torch.testing.assert_close(cat, ref)
    with pytest.raises(IndexError, match='in_index'):
        transform_inputs(feats, 5, None, False)


def test_head_with_resize_concat_and_multiple_select():
    feats = make_feats([(2, 3, 8, 8), (2, 4, 4, 4)])
    head = _head(in_channels=[3, 4], channels=7, in_index=[0, 1],
                 input_transform='resize_concat')
    assert head.in_channels == 7
    assert head(feats).shape == (2, 5, 8, 8)
    multi = _head(in_channels=[3, 4], channels=4, in_index=[0, 1],
                  input_transform='multiple_select')
    assert multi.in_channels == [3, 4]
    assert [t.shape[1] for t in multi._transform_inputs(feats)] == [3, 4]


def test_predict_resizes_to_pad_shape_else_img_shape():
    head = _head()
    x = make_feats([(2, 8, 4, 4)])
    out = head.predict(x, [dict(img_shape=(10, 12), pad_shape=(16, 16))] * 2, {})
    assert out.shape == (2, 5, 16, 16)
    out = head.predict(x, [dict(img_shape=(10, 12))] * 2, {})
    assert out.shape == (2, 5, 10, 12)
    torch.testing.assert_close(out, F.interpolate(head(x), (10, 12), mode='bilinear'))
    torch.testing.assert_close(head.predict(x, [dict(img_shape=(4, 4, 3))], {}), head(x))
    with pytest.raises(KeyError, match='pad_shape or img_shape'):
        head.predict(x, [dict(ori_shape=(4, 4))], {})


def test_dropout():
    x = make_feats([(2, 8, 4, 4)])
    head = _head(dropout_ratio=0).train()
    assert head.dropout is None
    torch.testing.assert_close(head(x), head(x))
    assert _head(dropout_ratio=-1).dropout is None
    drop = _head(dropout_ratio=0.5).train()
    assert not torch.equal(drop(x), drop(x))
    drop.eval()
    torch.testing.assert_close(drop(x), drop(x))


def test_init_weights_normal_conv_seg():
    head = _head(in_channels=64, channels=64, num_classes=19)
    head.init_weights()
    assert torch.all(head.conv_seg.bias == 0)
    assert 0.008 < head.conv_seg.weight.std().item() < 0.012


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize('kwargs,error,match', [
    (dict(input_transform='concat'), ValueError, 'input_transform'),
    (dict(in_channels=[8], in_index=0), TypeError, 'in_channels'),
    (dict(in_channels=[8, 8], in_index=[0], input_transform='resize_concat'), ValueError,
     'in_index'),  # lists of the right type, lengths disagree
    (dict(out_channels=3), ValueError, 'out_channels'),
    (dict(num_classes=0), ValueError, 'num_classes'),
    (dict(channels=0), ValueError, 'channels'),
    (dict(dropout_ratio=1.0), ValueError, 'dropout_ratio'),
    (dict(sampler=dict(type='OHEMPixelSampler', min_kept=1)), ValueError, 'min_kept'),
    (dict(loss_decode='CrossEntropyLoss'), TypeError, 'loss_decode'),
    (dict(num_classes=2, out_channels=1, threshold=0.5), ValueError, 'use_sigmoid'),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        _head(**kwargs)


def test_stack_gt_sem_seg():
    labels = make_labels(2, 3, 4, 5)
    out = stack_gt_sem_seg(make_samples(labels))
    assert out.dtype == torch.int64 and torch.equal(out, labels)
    mixed = make_samples(labels) + make_samples(make_labels(1, 5, 5, 5))
    with pytest.raises(ValueError, match='gt_sem_seg'):
        stack_gt_sem_seg(mixed)
