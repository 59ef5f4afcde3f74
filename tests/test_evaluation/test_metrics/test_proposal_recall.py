"""Tests of segdet/evaluation/metrics/proposal_recall.py and CocoMetric(metric='proposal_fast').

Definition (mmdet 3.x eval_recalls / CocoMetric.fast_eval_recall): per image the ground-truth
boxes are matched one to one with the first n proposals, the highest-IoU pair first; a box is
recalled at threshold t when its match has IoU >= t; recall = recalled / all ground-truth boxes
of the data set; AR@n = mean recall over the thresholds.
"""
import json
import logging
from typing import List

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData

from segdet.evaluation.metrics import CocoMetric
from segdet.evaluation.metrics.proposal_recall import (box_iou, eval_recalls, matched_ious,
                                                       recall_table)
from segdet.structures.data_sample import DataSample

GT = [0, 0, 10, 10]


def _recalls(gts, proposals, nums, thrs) -> np.ndarray:
    return eval_recalls(gts, proposals, nums, thrs, logger='silent')


def test_box_iou_hand_values() -> None:
    props = [[0, 0, 10, 10], [0, 0, 10, 5], [5, 0, 15, 10], [20, 20, 30, 30], [3, 3, 3, 3]]
    np.testing.assert_allclose(box_iou(np.array([GT]), np.array(props)),
                               [[1.0, 0.5, 50 / 150, 0.0, 0.0]])
    # Legacy (+1) widths: 11 x 11 vs 11 x 6 -> 66 / 121.
    np.testing.assert_allclose(box_iou(np.array([GT]), np.array(props[1:2]), legacy=True),
                               [[66 / 121]])
    assert box_iou(np.zeros((0, 4)), np.array(props)).shape == (0, 5)


def test_one_gt_recall_at_counts_and_thresholds() -> None:
    """Proposals with IoU 0.5, 1/3, 1.0 in rank order: the best of the first n counts."""
    props = np.array([[0, 0, 10, 5], [5, 0, 15, 10], [0, 0, 10, 10]], float)
    rec = _recalls([np.array([GT], float)], [props], [1, 2, 3], [0.3, 0.5, 0.7])
    np.testing.assert_array_equal(rec, [[1, 1, 0], [1, 1, 0], [1, 1, 1]])
    np.testing.assert_allclose(matched_ious(box_iou(np.array([GT]), props), [1, 2, 3]),
                               [[0.5], [0.5], [1.0]])


def test_a_proposal_recalls_one_box_only() -> None:
    """gt A = GT, gt B its top half; p1 = A (IoU 1 with A, 0.5 with B), p2 = [0, 0, 10, 4]
    (IoU 0.4 with A, 0.8 with B). Greedy: A-p1 (1.0), then B-p2 (0.8). With one proposal, B is
    not recalled even at 0.5: p1 is taken by A."""
    gts = np.array([GT, [0, 0, 10, 5]], float)
    props = np.array([GT, [0, 0, 10, 4]], float)
    np.testing.assert_allclose(matched_ious(box_iou(gts, props), [1, 2]),
                               [[1.0, -1.0], [1.0, 0.8]])
    np.testing.assert_array_equal(_recalls([gts], [props], [1, 2], [0.5, 0.9]),
                                  [[0.5, 0.5], [1.0, 0.5]])


def test_recall_pools_boxes_of_all_images() -> None:
    """1 of 1 box found in image 1, 0 of 3 in image 2: 1/4 (not the mean 1/2 of images);
    an image with proposals and no ground truth adds nothing."""
    gts = [np.array([GT], float), np.array([[20, 20, 30, 30]] * 3, float), np.zeros((0, 4))]
    props = [np.array([GT], float), np.zeros((0, 4)), np.array([GT], float)]
    np.testing.assert_array_equal(_recalls(gts, props, [5], [0.5]), [[0.25]])


def test_scored_proposals_are_ranked_by_score() -> None:
    """(N, 5) proposals: the top-scored one is 'first', whatever its row."""
    props = np.array([[20, 20, 30, 30, 0.1], [0, 0, 10, 10, 0.9]])
    assert _recalls([np.array([GT], float)], [props], [1], [0.5])[0, 0] == 1.0
    assert _recalls([np.array([GT], float)], [props[:, :4]], [1], [0.5])[0, 0] == 0.0


def test_no_ground_truth_is_nan_and_errors() -> None:
    rec = _recalls([np.zeros((0, 4)), None], [np.array([GT], float), np.zeros((0, 4))],
                   [1, 10], [0.5, 0.7])
    assert rec.shape == (2, 2) and np.isnan(rec).all()
    with pytest.raises(ValueError, match='2 images of ground truth but 1'):
        _recalls([np.zeros((0, 4))] * 2, [np.zeros((0, 4))], [1], [0.5])
    with pytest.raises(ValueError, match='iou_thrs'):
        _recalls([np.zeros((0, 4))], [np.zeros((0, 4))], [1], [])


def _slow_recalls(gts: List[np.ndarray], props: List[np.ndarray], nums, thrs) -> np.ndarray:
    """The definition with loops: greedy one-to-one matching, highest IoU first."""
    def iou(a, b) -> float:
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / max(union, 1e-6)

    out = np.zeros((len(nums), len(thrs)))
    total = sum(len(g) for g in gts)
    for r, n in enumerate(nums):
        found = []
        for g, p in zip(gts, props):
            pairs = sorted(((iou(g[i], p[j]), -i, -j) for i in range(len(g))
                            for j in range(min(n, len(p)))), reverse=True)
            used_g, used_p = set(), set()
            for value, mi, mj in pairs:
                if -mi not in used_g and -mj not in used_p:
                    used_g.add(-mi)
                    used_p.add(-mj)
                    found.append(value)
        for c, t in enumerate(thrs):
            out[r, c] = sum(v >= t for v in found) / total
    return out


def test_matches_the_definition_on_random_sets() -> None:
    rng = np.random.default_rng(0)
    for _ in range(60):
        gts, props = [], []
        for _ in range(int(rng.integers(1, 4))):
            boxes = []
            for count in (int(rng.integers(0, 6)), int(rng.integers(0, 15))):
                xy = rng.integers(0, 30, (count, 2)).astype(float)
                boxes.append(np.concatenate([xy, xy + rng.integers(2, 20, (count, 2))], 1))
            gts.append(boxes[0])
            props.append(boxes[1])
        if sum(len(g) for g in gts) == 0:
            continue
        nums, thrs = [1, 3, 8, 20], [0.1, 0.3, 0.5, 0.7, 0.9]
        np.testing.assert_allclose(_recalls(gts, props, nums, thrs),
                                   _slow_recalls(gts, props, nums, thrs))


def test_recall_table() -> None:
    table = recall_table(np.array([[0.25, 0.5], [1.0, 0.75]]), [10, 100], [0.5, 0.75])
    lines = table.splitlines()
    assert '0.50' in lines[1] and '0.75' in lines[1]
    assert '| 10 ' in table and '| 0.250 ' in table and '| 100 ' in table and '| 1.000 ' in table


# ------------------------------------------------------------------ CocoMetric('proposal_fast')
# Image 1: A [0,0,10,10], B [20,20,40,40], a crowd box (left out); image 2: D [0,0,20,20];
# image 3: no ground truth. Proposals in rank order (labels do not matter):
#   image 1: the crowd box (IoU 0 with A and B), [0,0,10,5] (IoU 0.5 with A), B (IoU 1);
#   image 2: [0,0,20,15] (IoU 0.75 with D); image 3: one stray box.
# Thresholds 0.5 / 0.75 / 0.9, 3 boxes:
#   1 proposal:  D only (0.75)           -> 1/3, 1/3, 0    -> AR 2/9
#   2 proposals: + A (0.5)               -> 2/3, 1/3, 0    -> AR 1/3
#   3 proposals: + B (1.0)               -> 1, 2/3, 1/3    -> AR 2/3
GTS = {1: [([0, 0, 10, 10], 0), ([20, 20, 40, 40], 0), ([50, 50, 60, 60], 1)],
       2: [([0, 0, 20, 20], 0)], 3: []}
PROPOSALS = {1: [[50, 50, 60, 60], [0, 0, 10, 5], [20, 20, 40, 40]], 2: [[0, 0, 20, 15]],
             3: [[0, 0, 5, 5]]}
EXPECTED_AR = {'coco/AR@1': 2 / 9, 'coco/AR@2': 1 / 3, 'coco/AR@3': 2 / 3}


def _samples(with_gt: bool) -> List[DataSample]:
    samples = []
    for img_id, boxes in PROPOSALS.items():
        sample = DataSample(metainfo=dict(img_id=img_id, ori_shape=(80, 80)))
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32), scores=torch.ones(len(boxes)),
            labels=torch.zeros(len(boxes), dtype=torch.long))
        if with_gt:
            sample.set_metainfo(dict(instances=[
                dict(bbox=b, bbox_label=0, ignore_flag=crowd) for b, crowd in GTS[img_id]]))
        samples.append(sample)
    return samples


def _ann_file(tmp_path) -> str:
    objs = [(i, b, crowd) for i, boxes in GTS.items() for b, crowd in boxes]
    anns = [dict(id=k + 1, image_id=i, category_id=1, iscrowd=crowd,
                 bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]], area=(b[2] - b[0]) * (b[3] - b[1]))
            for k, (i, b, crowd) in enumerate(objs)]
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(images=[dict(id=i, height=80, width=80) for i in GTS],
                                    annotations=anns,
                                    categories=[dict(id=1, name='thing')])))
    return str(path)


def _evaluate(samples: List[DataSample], **cfg) -> dict:
    evaluator = Evaluator(CocoMetric(**cfg))
    evaluator.dataset_meta = dict(classes=('thing', ))
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


class _ListHandler(logging.Handler):

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_proposal_fast_hand_computed(tmp_path) -> None:
    cfg = dict(metric='proposal_fast', proposal_nums=(1, 2, 3), iou_thrs=[0.5, 0.75, 0.9])
    logger = MMLogger.get_current_instance()
    handler = _ListHandler()
    logger.addHandler(handler)
    try:
        from_file = _evaluate(_samples(False), ann_file=_ann_file(tmp_path), **cfg)
    finally:
        logger.removeHandler(handler)
    assert from_file.keys() == EXPECTED_AR.keys()
    for key, value in EXPECTED_AR.items():
        assert from_file[key] == pytest.approx(value, abs=1e-12)  # not rounded, as mmdet
    # Ground truth converted from the data samples (crowd = ignore_flag 1): the same.
    assert _evaluate(_samples(True), **cfg) == from_file
    text = '\n'.join(handler.messages)
    assert 'AR@1\t0.2222' in text and 'AR@3\t0.6667' in text
    assert '| 0.50 ' in text and '| 0.333 ' in text  # the recall table


def test_proposal_fast_defaults_and_with_other_metrics(tmp_path) -> None:
    """Default proposal_nums and thresholds: AR@100/300/1000 (all proposals count, each box
    is recalled over the thresholds up to its match's IoU); next to 'bbox' keys."""
    res = _evaluate(_samples(False), ann_file=_ann_file(tmp_path),
                    metric=['bbox', 'proposal_fast'])
    thrs = np.linspace(0.5, 0.95, 10)
    ar = np.mean([(np.array([0.5, 1.0, 0.75])[:, None] >= thrs).sum(0) / 3])
    for n in (100, 300, 1000):
        assert res[f'coco/AR@{n}'] == pytest.approx(ar, abs=1e-12)
    assert 'coco/bbox_mAP' in res
