"""Tests of segdet/evaluation/metrics/seg_functional.py: pixel counts and metric formulas."""
import math

import numpy as np
import pytest
import torch

from segdet.evaluation.metrics.seg_functional import (SEG_METRICS, check_seg_metrics,
                                                      f_beta_score, intersect_and_union,
                                                      total_area_to_metrics)

NAN = float('nan')


def _assert_close(actual: np.ndarray, expected: list) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64),
                               np.asarray(expected, dtype=np.float64), rtol=0, atol=1e-12,
                               equal_nan=True)


def test_intersect_and_union_hand_computed() -> None:
    # 3 classes; 255 = ignore. The two ignored pixels predict 1 and 2: they must not count.
    pred = torch.tensor([[0, 0, 1, 1],
                         [1, 2, 2, 0],
                         [2, 2, 1, 0]])
    label = torch.tensor([[0, 1, 1, 255],
                          [1, 2, 0, 0],
                          [255, 2, 2, 0]])
    # Valid (pred, label) pairs, row by row:
    # (0,0) (0,1) (1,1) | (1,1) (2,2) (2,0) (0,0) | (2,2) (1,2) (0,0)
    # matches per class: 0 -> 3, 1 -> 2, 2 -> 2
    # predicted:         0 -> 4, 1 -> 3, 2 -> 3
    # labeled:           0 -> 4, 1 -> 3, 2 -> 3
    inter, union, area_pred, area_label = intersect_and_union(pred, label, 3, 255)
    assert inter.tolist() == [3, 2, 2]
    assert area_pred.tolist() == [4, 3, 3]
    assert area_label.tolist() == [4, 3, 3]
    assert union.tolist() == [5, 4, 4]  # pred + label - intersect
    for t in (inter, union, area_pred, area_label):
        assert t.dtype == torch.int64 and t.device.type == 'cpu'


def test_intersect_and_union_custom_ignore_index_and_uint8_label() -> None:
    pred = torch.tensor([[0, 1], [1, 1]])
    label = torch.tensor([[0, 1], [0, 1]], dtype=torch.uint8)
    # ignore_index=0 drops the two pixels labeled 0, even the correctly predicted one
    inter, union, area_pred, area_label = intersect_and_union(pred, label, 2, ignore_index=0)
    assert inter.tolist() == [0, 2]
    assert area_pred.tolist() == [0, 2]
    assert area_label.tolist() == [0, 2]
    assert union.tolist() == [0, 2]


def test_intersect_and_union_out_of_range_label_not_a_class() -> None:
    # Label 7 is neither a class (C=2) nor ignore: it is no class's ground truth, but the
    # prediction there is still a predicted pixel (a false positive), as in mmseg.
    pred = torch.tensor([[0, 1, 1]])
    label = torch.tensor([[0, 1, 7]])
    inter, union, area_pred, area_label = intersect_and_union(pred, label, 2, 255)
    assert inter.tolist() == [1, 1]
    assert area_pred.tolist() == [1, 2]
    assert area_label.tolist() == [1, 1]
    assert union.tolist() == [1, 2]


def test_intersect_and_union_matches_confusion_matrix() -> None:
    gen = torch.Generator().manual_seed(0)
    num_classes = 6
    pred = torch.randint(0, num_classes, (17, 23), generator=gen)
    label = torch.randint(0, num_classes, (17, 23), generator=gen)
    label[torch.rand(17, 23, generator=gen) < 0.2] = 255
    valid = (label != 255).numpy()
    conf = np.zeros((num_classes, num_classes), dtype=np.int64)  # rows: label, cols: pred
    np.add.at(conf, (label.numpy()[valid], pred.numpy()[valid]), 1)
    inter, union, area_pred, area_label = intersect_and_union(pred, label, num_classes, 255)
    np.testing.assert_array_equal(inter.numpy(), np.diag(conf))
    np.testing.assert_array_equal(area_pred.numpy(), conf.sum(0))
    np.testing.assert_array_equal(area_label.numpy(), conf.sum(1))
    np.testing.assert_array_equal(union.numpy(), conf.sum(0) + conf.sum(1) - np.diag(conf))


def test_intersect_and_union_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match=r'\(2, 3\).*\(3, 2\)'):
        intersect_and_union(torch.zeros(2, 3, dtype=torch.long),
                            torch.zeros(3, 2, dtype=torch.long), 2, 255)
    with pytest.raises(TypeError, match='integer'):
        intersect_and_union(torch.zeros(2, 2), torch.zeros(2, 2, dtype=torch.long), 2, 255)


# Data-set totals for 5 classes, chosen so every NaN/zero case appears:
#   class 0: I=3, pred=4, label=4
#   class 1: I=2, pred=5, label=3   (pred != label so beta matters)
#   class 2: I=0, pred=2, label=0   predicted, absent from GT -> IoU 0, Acc NaN, Precision 0
#   class 3: I=0, pred=0, label=0   absent from both          -> NaN everywhere
#   class 4: I=0, pred=0, label=3   in GT, never predicted     -> IoU 0, Acc 0, Precision NaN
I = torch.tensor([3, 2, 0, 0, 0])
P = torch.tensor([4, 5, 2, 0, 0])
L = torch.tensor([4, 3, 0, 0, 3])
U = P + L - I  # [5, 6, 2, 0, 3]


def test_total_area_to_metrics_hand_computed() -> None:
    out = total_area_to_metrics(I, U, P, L, ['mIoU', 'mDice', 'mFscore'])
    assert list(out) == ['aAcc', 'IoU', 'Acc', 'Dice', 'Fscore', 'Precision', 'Recall']
    assert out['aAcc'].shape == () and float(out['aAcc']) == pytest.approx(5 / 10)
    _assert_close(out['IoU'], [3 / 5, 2 / 6, 0, NAN, 0])
    _assert_close(out['Acc'], [3 / 4, 2 / 3, NAN, NAN, 0])
    _assert_close(out['Dice'], [6 / 8, 4 / 8, 0, NAN, 0])
    _assert_close(out['Precision'], [3 / 4, 2 / 5, 0, NAN, NAN])
    _assert_close(out['Recall'], [3 / 4, 2 / 3, NAN, NAN, 0])
    # beta=1: F1 = 2PR/(P+R) = 2I/(pred+label) = Dice
    _assert_close(out['Fscore'], [6 / 8, 4 / 8, 0, NAN, 0])
    for v in out.values():
        assert v.dtype == np.float64


def test_fscore_beta2_and_equals_precision_recall_formula() -> None:
    out = total_area_to_metrics(I, U, P, L, 'mFscore', beta=2)
    # F2 = 5 I / (4 label + pred): class 0: 15/20, class 1: 10/17, class 2: 0/2, class 4: 0/12
    _assert_close(out['Fscore'], [15 / 20, 10 / 17, 0, NAN, 0])
    # Where P and R are both positive it is the textbook (1+b^2)PR/(b^2 P + R).
    p, r = 2 / 5, 2 / 3
    assert out['Fscore'][1] == pytest.approx(5 * p * r / (4 * p + r))
    _assert_close(f_beta_score(np.array([2.]), np.array([5.]), np.array([3.]), 0.5),
                  [1.25 * 2 / (0.25 * 3 + 5)])


def test_nan_to_num_replaces_nan() -> None:
    out = total_area_to_metrics(I, U, P, L, ['mIoU', 'mFscore'], nan_to_num=-1)
    _assert_close(out['IoU'], [3 / 5, 2 / 6, 0, -1, 0])
    _assert_close(out['Acc'], [3 / 4, 2 / 3, -1, -1, 0])
    _assert_close(out['Precision'], [3 / 4, 2 / 5, 0, -1, -1])
    zero = torch.zeros(2, dtype=torch.long)
    assert float(total_area_to_metrics(zero, zero, zero, zero, nan_to_num=0)['aAcc']) == 0.0
    assert math.isnan(float(total_area_to_metrics(zero, zero, zero, zero)['aAcc']))


def test_metric_names_and_order() -> None:
    assert list(total_area_to_metrics(I, U, P, L, 'mIoU')) == ['aAcc', 'IoU', 'Acc']
    assert list(total_area_to_metrics(I, U, P, L, ['mDice'])) == ['aAcc', 'Dice', 'Acc']
    assert list(total_area_to_metrics(I, U, P, L, ['mDice', 'mIoU'])) == [
        'aAcc', 'Dice', 'Acc', 'IoU']
    assert set(SEG_METRICS) == {'mIoU', 'mDice', 'mFscore'}
    assert check_seg_metrics('mDice') == ('mDice', )
    with pytest.raises(ValueError, match=r"\['mAP'\].*'mIoU', 'mDice', 'mFscore'"):
        total_area_to_metrics(I, U, P, L, ['mIoU', 'mAP'])
