"""Confusion matrix of detections against ground-truth instances (one image at a time)."""
from typing import Optional

import numpy as np
import torch

from segdet.structures.bbox import bbox_overlaps


def instance_confusion(gt_bboxes: np.ndarray, gt_labels: np.ndarray, det_bboxes: np.ndarray,
                       det_labels: np.ndarray, det_scores: np.ndarray, num_classes: int,
                       score_thr: float = 0.3, iou_thr: float = 0.5,
                       ignored_bboxes: Optional[np.ndarray] = None) -> np.ndarray:
    """Counts of one image, (C+1, C+1): row = ground truth, column = detection, index C =
    background.

    Detections scoring at least ``score_thr`` are matched one to one to the ground truth, most
    confident first (greedily, as COCO's evaluation does within a class, but across classes
    here): a detection takes the unmatched ground-truth instance it overlaps most (IoU >=
    ``iou_thr``) among those of its own class, or else among those of any class. Then

    - a detection matched to an instance of class g adds 1 at ``[g, label]`` (the diagonal when
      the classes agree, a class confusion otherwise);
    - a detection left unmatched adds 1 at ``[C, label]`` (a false positive on background, a
      duplicate included), unless it overlaps an ignored region (IoU >= ``iou_thr``), which
      makes it count nowhere;
    - an instance left unmatched adds 1 at ``[g, C]`` (missed).

    So row g sums to the number of ground-truth instances of class g. (mmdetection's
    ``confusion_matrix.py`` counts each (detection, overlapping instance) pair instead, so its
    rows can sum to more than the instances.)

    Args:
        gt_bboxes: (G, 4) x1 y1 x2 y2 boxes of the instances.
        gt_labels: (G,) their classes in 0..C-1.
        det_bboxes: (D, 4) x1 y1 x2 y2 boxes of the detections.
        det_labels: (D,) their classes in 0..C-1.
        det_scores: (D,) their scores.
        num_classes: C.
        score_thr: Detections below it are left out.
        iou_thr: The overlap a match needs.
        ignored_bboxes: (I, 4) ignored regions (crowd annotations), or None.

    Returns:
        (C+1, C+1) int64 counts.

    Raises:
        ValueError: a label outside 0..C-1, or lengths that disagree.
    """
    gt_bboxes = np.asarray(gt_bboxes, np.float64).reshape(-1, 4)
    det_bboxes = np.asarray(det_bboxes, np.float64).reshape(-1, 4)
    gt_labels = np.asarray(gt_labels, np.int64).reshape(-1)
    det_labels = np.asarray(det_labels, np.int64).reshape(-1)
    det_scores = np.asarray(det_scores, np.float64).reshape(-1)
    if len(gt_labels) != len(gt_bboxes) or not len(det_bboxes) == len(det_labels) == \
            len(det_scores):
        raise ValueError(f'instance_confusion: {len(gt_bboxes)} gt boxes / {len(gt_labels)} '
                         f'labels, {len(det_bboxes)} detections / {len(det_labels)} labels / '
                         f'{len(det_scores)} scores')
    for name, labels in (('gt', gt_labels), ('detection', det_labels)):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.size:
            raise ValueError(f'instance_confusion: {name} labels {np.unique(bad).tolist()} are '
                             f'not classes 0..{num_classes - 1}')
    background = num_classes
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    keep = det_scores >= score_thr
    det_bboxes, det_labels, det_scores = det_bboxes[keep], det_labels[keep], det_scores[keep]
    ious = _overlaps(det_bboxes, gt_bboxes)
    ignored = _overlaps(det_bboxes, ignored_bboxes) if ignored_bboxes is not None else \
        np.zeros((len(det_bboxes), 0))
    matched = np.zeros(len(gt_bboxes), bool)
    for d in np.argsort(-det_scores, kind='stable'):
        label = det_labels[d]
        candidates = (~matched) & (ious[d] >= iou_thr)
        same = candidates & (gt_labels == label)
        pool = same if same.any() else candidates
        if pool.any():
            g = int(np.argmax(np.where(pool, ious[d], -1.0)))
            matched[g] = True
            matrix[gt_labels[g], label] += 1
        elif not (ignored.shape[1] and (ignored[d] >= iou_thr).any()):
            matrix[background, label] += 1
    np.add.at(matrix, (gt_labels[~matched], background), 1)
    return matrix


def _overlaps(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """(N, M) IoU of two numpy box arrays, as :func:`bbox_overlaps`."""
    boxes2 = np.asarray(boxes2, np.float64).reshape(-1, 4)
    if not len(boxes1) or not len(boxes2):
        return np.zeros((len(boxes1), len(boxes2)))
    return bbox_overlaps(torch.from_numpy(boxes1), torch.from_numpy(boxes2)).numpy()
