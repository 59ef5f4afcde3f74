"""instance_confusion: one-to-one matching of detections to instances, on hand-counted cases."""
import numpy as np
import pytest

from segdet.evaluation.metrics import instance_confusion

BG = 3  # background index with 3 classes


def boxes(*rows):
    return np.array(rows, np.float64).reshape(-1, 4)


def test_hand_counted_image() -> None:
    gt = boxes([0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10])
    gt_labels = np.array([0, 1, 2, 2])
    det = boxes(
        [0, 0, 10, 10],    # class 0 on instance 0: correct
        [0, 0, 10, 9],     # class 0 again on instance 0: a duplicate -> background FP
        [20, 0, 30, 10],   # class 2 on instance 1 (class 1): confusion 1 -> 2
        [40, 0, 50, 10],   # class 2 on instance 2, score below the threshold: left out
        [90, 90, 99, 99],  # class 1 on nothing: background FP
    )
    det_labels = np.array([0, 0, 2, 2, 1])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.6])
    matrix = instance_confusion(gt, gt_labels, det, det_labels, scores, 3, score_thr=0.3)
    expected = np.zeros((4, 4), np.int64)
    expected[0, 0] = 1
    expected[BG, 0] = 1
    expected[1, 2] = 1
    expected[BG, 1] = 1
    expected[2, BG] = 2  # both class-2 instances missed (the one detection scored 0.1)
    assert matrix.tolist() == expected.tolist()
    # Each ground-truth row sums to the instances of its class.
    assert matrix[:3].sum(axis=1).tolist() == [1, 1, 2]

    # With the threshold lowered, the 0.1 detection finds instance 2.
    low = instance_confusion(gt, gt_labels, det, det_labels, scores, 3, score_thr=0.05)
    assert low[2, 2] == 1 and low[2, BG] == 1


def test_own_class_is_preferred_and_most_confident_goes_first() -> None:
    # Two overlapping instances of classes 0 and 1; a class-1 detection overlapping the class-0
    # instance more still takes the class-1 one (IoU 0.6 >= 0.5).
    gt = boxes([0, 0, 10, 10], [0, 0, 10, 6])
    gt_labels = np.array([0, 1])
    det = boxes([0, 0, 10, 10])
    matrix = instance_confusion(gt, gt_labels, det, np.array([1]), np.array([0.9]), 2)
    assert matrix.tolist() == [[0, 0, 1], [0, 1, 0], [0, 0, 0]]

    # Two detections of class 0 on one class-0 instance: the more confident (listed second)
    # matches it; the other is a false positive.
    gt = boxes([0, 0, 10, 10])
    det = boxes([0, 0, 10, 8], [0, 0, 10, 10])
    matrix = instance_confusion(gt, np.array([0]), det, np.array([0, 0]),
                                np.array([0.5, 0.9]), 1)
    assert matrix.tolist() == [[1, 0], [1, 0]]


def test_iou_threshold_and_ignored_regions() -> None:
    gt = boxes([0, 0, 10, 10])
    det = boxes([0, 0, 10, 4])  # IoU 0.4
    assert instance_confusion(gt, [0], det, [0], [0.9], 1, iou_thr=0.5).tolist() == \
        [[0, 1], [1, 0]]
    assert instance_confusion(gt, [0], det, [0], [0.9], 1, iou_thr=0.4).tolist() == \
        [[1, 0], [0, 0]]
    # A detection on an ignored (crowd) region counts nowhere.
    crowd = boxes([50, 50, 60, 60])
    det = boxes([0, 0, 10, 10], [50, 50, 60, 60])
    assert instance_confusion(gt, [0], det, [0, 0], [0.9, 0.9], 1,
                              ignored_bboxes=crowd).tolist() == [[1, 0], [0, 0]]


def test_empty_inputs_and_bad_labels() -> None:
    assert instance_confusion(boxes(), [], boxes(), [], [], 2).tolist() == [[0] * 3] * 3
    assert instance_confusion(boxes([0, 0, 5, 5]), [1], boxes(), [], [], 2)[1, 2] == 1
    assert instance_confusion(boxes(), [], boxes([0, 0, 5, 5]), [0], [0.5], 2)[2, 0] == 1
    with pytest.raises(ValueError, match=r'detection labels \[3\] are not classes 0..1'):
        instance_confusion(boxes(), [], boxes([0, 0, 5, 5]), [3], [0.5], 2)
    with pytest.raises(ValueError, match='1 gt boxes / 2 labels'):
        instance_confusion(boxes([0, 0, 5, 5]), [0, 1], boxes(), [], [], 2)
