"""cross_entropy / binary_cross_entropy / mask_cross_entropy / CrossEntropyLoss vs torch."""
import json
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from segdet.models.losses import (CrossEntropyLoss, binary_cross_entropy, cross_entropy,
                                  mask_cross_entropy)
from segdet.registry import MODELS


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _seg_case(n=2, c=5, h=4, w=4, ignore=255, seed=0):
    g = _gen(seed)
    pred = torch.randn(n, c, h, w, generator=g)
    label = torch.randint(0, c, (n, h, w), generator=g)
    label[torch.rand(n, h, w, generator=g) < 0.3] = ignore
    return pred, label


def _nll(pred, label):
    """-log softmax(pred)[label] per pixel (label must be valid)."""
    return -torch.log_softmax(pred, dim=1).gather(1, label[:, None]).squeeze(1)


# ---------------------------------------------------------------- softmax cross entropy
def test_cross_entropy_avg_non_ignore_equals_torch():
    pred, label = _seg_case()
    assert (label == 255).any()
    got = cross_entropy(pred, label, ignore_index=255, avg_non_ignore=True)
    torch.testing.assert_close(got, F.cross_entropy(pred, label, ignore_index=255))


def test_cross_entropy_class_weight_avg_non_ignore_equals_torch():
    pred, label = _seg_case(seed=1)
    cw = torch.tensor([0.5, 1.0, 2.0, 0.1, 3.0])
    got = cross_entropy(pred, label, class_weight=cw, ignore_index=255, avg_non_ignore=True)
    torch.testing.assert_close(got, F.cross_entropy(pred, label, weight=cw, ignore_index=255))


def test_avg_non_ignore_by_hand_two_of_four_ignored():
    pred = torch.randn(1, 3, 2, 2, generator=_gen(2))
    label = torch.tensor([[[0, 255], [2, 255]]])
    l0 = -torch.log_softmax(pred[0, :, 0, 0], 0)[0]
    l2 = -torch.log_softmax(pred[0, :, 1, 0], 0)[2]
    torch.testing.assert_close(cross_entropy(pred, label, ignore_index=255), (l0 + l2) / 4)
    torch.testing.assert_close(
        cross_entropy(pred, label, ignore_index=255, avg_non_ignore=True), (l0 + l2) / 2)
    # class weights: numerator and denominator weighted; an ignored pixel counts 1 without
    # avg_non_ignore and 0 with it.
    cw = torch.tensor([2.0, 1.0, 0.5])
    torch.testing.assert_close(
        cross_entropy(pred, label, class_weight=cw, ignore_index=255),
        (2.0 * l0 + 0.5 * l2) / (2.0 + 0.5 + 2))
    torch.testing.assert_close(
        cross_entropy(pred, label, class_weight=cw, ignore_index=255, avg_non_ignore=True),
        (2.0 * l0 + 0.5 * l2) / (2.0 + 0.5))


def test_all_ones_class_weight_equals_unweighted():
    pred, label = _seg_case(seed=3)
    ones = torch.ones(5)
    for avg_non_ignore in (False, True):
        torch.testing.assert_close(
            cross_entropy(pred, label, class_weight=ones, ignore_index=255,
                          avg_non_ignore=avg_non_ignore),
            cross_entropy(pred, label, ignore_index=255, avg_non_ignore=avg_non_ignore))


def test_cross_entropy_reductions_and_weights():
    pred, label = _seg_case(seed=4)
    ref = F.cross_entropy(pred, label, ignore_index=255, reduction='none')
    none = cross_entropy(pred, label, ignore_index=255, reduction='none')
    torch.testing.assert_close(none, ref)
    assert (none[label == 255] == 0).all()
    torch.testing.assert_close(cross_entropy(pred, label, ignore_index=255, reduction='sum'),
                               ref.sum())
    torch.testing.assert_close(cross_entropy(pred, label, ignore_index=255), ref.mean())
    torch.testing.assert_close(cross_entropy(pred, label, ignore_index=255, avg_factor=7.0),
                               ref.sum() / 7.0)
    weight = torch.rand(label.shape, generator=_gen(5))
    torch.testing.assert_close(cross_entropy(pred, label, weight, ignore_index=255),
                               (ref * weight).mean())
    with pytest.raises(ValueError, match='avg_factor'):
        cross_entropy(pred, label, reduction='sum', avg_factor=3.0, ignore_index=255)
    with pytest.raises(ValueError, match='reduction'):
        cross_entropy(pred, label, reduction='avg', ignore_index=255)


def test_cross_entropy_detection_layout():
    # (N, C) scores with background = last class, per-sample weights and avg_factor (mmdet).
    scores = torch.randn(6, 4, generator=_gen(6))
    labels = torch.tensor([0, 3, 1, 3, 2, 0])
    weights = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 0.5])
    got = cross_entropy(scores, labels, weights, avg_factor=4.0)
    ref = (F.cross_entropy(scores, labels, reduction='none') * weights).sum() / 4.0
    torch.testing.assert_close(got, ref)
    # ignore_index=None falls back to F.cross_entropy's -100
    labels_ign = torch.tensor([0, -100, 1, 3, 2, 0])
    torch.testing.assert_close(cross_entropy(scores, labels_ign, ignore_index=None,
                                             avg_non_ignore=True),
                               F.cross_entropy(scores, labels_ign))


# ---------------------------------------------------------------- module
def test_module_loss_weight_reduction_override_and_name():
    pred, label = _seg_case(seed=7)
    loss = MODELS.build(dict(type='CrossEntropyLoss', loss_weight=0.4, loss_name='loss_x'))
    assert loss.loss_name == 'loss_x'
    base = cross_entropy(pred, label, ignore_index=255)
    torch.testing.assert_close(loss(pred, label, ignore_index=255), 0.4 * base)
    torch.testing.assert_close(loss(pred, label, ignore_index=255, reduction_override='sum'),
                               0.4 * cross_entropy(pred, label, ignore_index=255,
                                                   reduction='sum'))
    with pytest.raises(ValueError, match='reduction_override'):
        loss(pred, label, reduction_override='max')
    with pytest.raises(TypeError, match='unexpected'):
        loss(pred, label, ignore_index=255, bogus=1)


def test_module_ignore_index_constructor_and_call_time():
    pred, label = _seg_case(seed=8)
    label[label == 255] = 3  # class 3 plays the ignored label
    ctor = CrossEntropyLoss(ignore_index=3, avg_non_ignore=True)
    torch.testing.assert_close(ctor(pred, label), F.cross_entropy(pred, label, ignore_index=3))
    # call time wins over the constructor
    torch.testing.assert_close(ctor(pred, label, ignore_index=1),
                               F.cross_entropy(pred, label, ignore_index=1))


def test_module_class_weight_list_and_files(tmp_path):
    pred, label = _seg_case(seed=9)
    cw = [0.5, 1.0, 2.0, 0.1, 3.0]
    ref = F.cross_entropy(pred, label, weight=torch.tensor(cw), ignore_index=255)
    np.save(tmp_path / 'w.npy', np.array(cw))
    (tmp_path / 'w.json').write_text(json.dumps(cw))
    with open(tmp_path / 'w.pkl', 'wb') as f:
        pickle.dump(cw, f)
    for spec in (cw, str(tmp_path / 'w.npy'), str(tmp_path / 'w.json'),
                 str(tmp_path / 'w.pkl')):
        loss = CrossEntropyLoss(class_weight=spec, avg_non_ignore=True)
        assert loss.class_weight == pytest.approx(cw)
        torch.testing.assert_close(loss(pred, label, ignore_index=255), ref)
    assert 'class_weight' not in dict(loss.named_buffers())  # no extra state-dict key
    with pytest.raises(FileNotFoundError, match='missing.npy'):
        CrossEntropyLoss(class_weight=str(tmp_path / 'missing.npy'))
    (tmp_path / 'w.txt').write_text('1 2')
    with pytest.raises(ValueError, match='.npy'):
        CrossEntropyLoss(class_weight=str(tmp_path / 'w.txt'))


def test_module_bad_options():
    with pytest.raises(ValueError, match='use_sigmoid and use_mask'):
        CrossEntropyLoss(use_sigmoid=True, use_mask=True)
    with pytest.raises(ValueError, match='reduction'):
        CrossEntropyLoss(reduction='avg')


# ---------------------------------------------------------------- sigmoid BCE
def _bce(x, t):
    """Hand-written BCE with logits: -(t log s(x) + (1 - t) log(1 - s(x)))."""
    return -(t * F.logsigmoid(x) + (1 - t) * F.logsigmoid(-x))


def test_bce_binary_segmentation_with_ignore():
    g = _gen(10)
    pred = torch.randn(2, 1, 3, 3, generator=g)
    label = torch.randint(0, 2, (2, 3, 3), generator=g)
    label[0, 0, :] = 255
    valid = (label != 255).float()
    elem = _bce(pred[:, 0], label.clamp(max=1).float()) * valid
    torch.testing.assert_close(binary_cross_entropy(pred, label, ignore_index=255),
                               elem.sum() / label.numel())
    torch.testing.assert_close(
        binary_cross_entropy(pred, label, ignore_index=255, avg_non_ignore=True),
        elem.sum() / valid.sum())
    torch.testing.assert_close(
        binary_cross_entropy(pred, label, ignore_index=255, reduction='none'), elem)
    # without ignored pixels: plain mean of F.binary_cross_entropy_with_logits
    label2 = label.clamp(max=1)
    torch.testing.assert_close(binary_cross_entropy(pred, label2),
                               F.binary_cross_entropy_with_logits(pred[:, 0], label2.float()))
    with pytest.raises(ValueError, match='got label 2'):
        binary_cross_entropy(pred, torch.full((2, 3, 3), 2), ignore_index=255)


def test_bce_one_hot_segmentation_with_ignore_and_class_weight():
    pred, label = _seg_case(n=2, c=3, h=3, w=4, seed=11)
    onehot = torch.zeros_like(pred)
    valid = torch.zeros_like(pred)
    for n, y, x in np.ndindex(*label.shape):
        if label[n, y, x] != 255:
            onehot[n, label[n, y, x], y, x] = 1
            valid[n, :, y, x] = 1
    elem = _bce(pred, onehot) * valid
    torch.testing.assert_close(binary_cross_entropy(pred, label, ignore_index=255),
                               elem.mean())
    torch.testing.assert_close(
        binary_cross_entropy(pred, label, ignore_index=255, avg_non_ignore=True),
        elem.sum() / valid.sum())
    # class_weight is the weight of the positive term, per class channel
    cw = torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1)
    elem_w = -(cw * onehot * F.logsigmoid(pred) + (1 - onehot) * F.logsigmoid(-pred)) * valid
    torch.testing.assert_close(
        binary_cross_entropy(pred, label, class_weight=cw.flatten(), ignore_index=255),
        elem_w.mean())


def test_bce_detection_layout_background_and_rpn():
    # (N, C) with label C = background -> all-zero row, still counted; per-sample weight.
    scores = torch.randn(4, 3, generator=_gen(12))
    labels = torch.tensor([0, 3, 2, 1])
    weights = torch.tensor([1.0, 1.0, 0.0, 2.0])
    targets = torch.tensor([[1., 0, 0], [0, 0, 0], [0, 0, 1], [0, 1, 0]])
    ref = (_bce(scores, targets) * weights[:, None]).sum() / 5.0
    torch.testing.assert_close(binary_cross_entropy(scores, labels, weights, avg_factor=5.0),
                               ref)
    # RPN: (N, 1) scores, label 0 = object -> target 1, label 1 = background -> target 0
    obj = torch.randn(3, 1, generator=_gen(13))
    got = binary_cross_entropy(obj, torch.tensor([0, 1, 0]), reduction='none')
    torch.testing.assert_close(got, _bce(obj, torch.tensor([[1.], [0.], [1.]])))
    # same-shape targets
    t = torch.rand(4, 3, generator=_gen(14))
    torch.testing.assert_close(binary_cross_entropy(scores, t),
                               F.binary_cross_entropy_with_logits(scores, t))
    with pytest.raises(ValueError, match='supports pred'):
        binary_cross_entropy(torch.randn(2, 3, 4), torch.zeros(2, dtype=torch.long))


def test_module_sigmoid_dispatch():
    pred = torch.randn(2, 1, 3, 3, generator=_gen(15))
    label = torch.randint(0, 2, (2, 3, 3), generator=_gen(16))
    loss = CrossEntropyLoss(use_sigmoid=True, loss_weight=2.0)
    torch.testing.assert_close(loss(pred, label, ignore_index=255),
                               2.0 * F.binary_cross_entropy_with_logits(pred[:, 0],
                                                                        label.float()))


# ---------------------------------------------------------------- mask BCE
def test_mask_cross_entropy_picks_the_roi_class_channel():
    g = _gen(17)
    pred = torch.randn(3, 4, 5, 5, generator=g)
    target = (torch.rand(3, 5, 5, generator=g) > 0.5).float()
    label = torch.tensor([2, 0, 3])
    picked = torch.stack([pred[0, 2], pred[1, 0], pred[2, 3]])
    ref = _bce(picked, target).mean()
    got = mask_cross_entropy(pred, target, label)
    assert got.shape == (1,)
    torch.testing.assert_close(got[0], ref)
    module = CrossEntropyLoss(use_mask=True, loss_weight=1.5)
    torch.testing.assert_close(module(pred, target, label)[0], 1.5 * ref)
    torch.testing.assert_close(mask_cross_entropy(pred, target, label, reduction='none'),
                               _bce(picked, target))
    # no RoI: zero, still differentiable
    empty = torch.randn(0, 4, 5, 5, requires_grad=True)
    out = mask_cross_entropy(empty, torch.zeros(0, 5, 5), torch.zeros(0, dtype=torch.long))
    assert out.shape == (1,) and out.item() == 0 and out.requires_grad
    with pytest.raises(ValueError, match='ignore_index'):
        mask_cross_entropy(pred, target, label, ignore_index=255)
    with pytest.raises(ValueError, match='label must have shape'):
        mask_cross_entropy(pred, target, label[:2])


def test_zero_logits_give_log_num_classes():
    pred = torch.zeros(2, 7, 3, 3)
    label = torch.randint(0, 7, (2, 3, 3), generator=_gen(18))
    assert cross_entropy(pred, label).item() == pytest.approx(math.log(7), rel=1e-6)
