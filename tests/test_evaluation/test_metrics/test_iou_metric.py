"""Tests of segdet/evaluation/metrics/iou_metric.py: IoUMetric end to end, table, PNG output."""
import logging
import math
from typing import Dict, List, Optional

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.structures import PixelData

from segdet.evaluation import IoUMetric
from segdet.registry import METRICS
from segdet.structures.data_sample import DataSample

CLASSES = ('road', 'car', 'sky', 'tree', 'person')
NAN = float('nan')

# Two images, 5 classes, 255 = ignore. The ignored pixels predict 2 and 3: class 3 is predicted
# only there, so it is absent from both prediction and GT (NaN, left out of the means).
GT_A = [[0, 0, 1, 1],
        [0, 4, 4, 255]]
PRED_A = [[0, 1, 1, 1],
          [0, 4, 2, 2]]
GT_B = [[1, 1, 4],
        [255, 0, 4]]
PRED_B = [[1, 0, 2],
          [3, 0, 4]]
# Confusion counts over both images (rows: GT class, columns: predicted class):
#            p0 p1 p2 p3 p4
#   gt 0  [   3, 1, 0, 0, 0 ]   A: (0,0)x2 (0,1)x1   B: (0,0)x1
#   gt 1  [   1, 3, 0, 0, 0 ]   A: (1,1)x2           B: (1,1)x1 (1,0)x1
#   gt 2  [   0, 0, 0, 0, 0 ]
#   gt 3  [   0, 0, 0, 0, 0 ]
#   gt 4  [   0, 0, 2, 0, 2 ]   A: (4,4)x1 (4,2)x1   B: (4,2)x1 (4,4)x1
INTER = [3, 3, 0, 0, 2]
PRED = [4, 4, 2, 0, 2]   # column sums
LABEL = [4, 4, 0, 0, 4]  # row sums
UNION = [5, 5, 2, 0, 4]  # PRED + LABEL - INTER
# Class-wise metrics from these counts (class 2 is predicted but not in GT: IoU 0, not NaN).
IOU = [3 / 5, 3 / 5, 0 / 2, NAN, 2 / 4]
ACC = [3 / 4, 3 / 4, NAN, NAN, 2 / 4]
DICE = [6 / 8, 6 / 8, 0 / 2, NAN, 4 / 6]
PRECISION = [3 / 4, 3 / 4, 0 / 2, NAN, 2 / 2]
RECALL = ACC
F1 = DICE
F2 = [15 / 20, 15 / 20, 0 / 2, NAN, 10 / 18]  # 5 I / (4 label + pred)


def _mean_percent(values: List[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return round(100 * sum(kept) / len(kept), 2)


def _sample(pred: list, gt: Optional[list] = None, img_path: str = 'data/img.png',
            **metainfo) -> DataSample:
    sample = DataSample(metainfo=dict(img_path=img_path, **metainfo))
    sample.pred_sem_seg = PixelData(data=torch.tensor(pred).unsqueeze(0))
    if gt is not None:
        sample.gt_sem_seg = PixelData(data=torch.tensor(gt).unsqueeze(0))
    return sample


def _evaluate(metric_cfg: dict, samples: List[DataSample], meta: Optional[dict] = None,
              batch_size: int = 1) -> Dict[str, float]:
    """Run the metric through mmengine's Evaluator, as the Runner's val/test loop does."""
    evaluator = Evaluator(METRICS.build(dict(type='IoUMetric', **metric_cfg)))
    evaluator.dataset_meta = meta if meta is not None else dict(classes=CLASSES)
    for i in range(0, len(samples), batch_size):
        evaluator.process(data_samples=samples[i:i + batch_size], data_batch=None)
    return evaluator.evaluate(len(samples))


def _two_images() -> List[DataSample]:
    return [_sample(PRED_A, GT_A, 'a.png'), _sample(PRED_B, GT_B, 'b.png')]


def test_hand_computed_counts_are_what_process_accumulates() -> None:
    metric = IoUMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process(None, [s.to_dict() for s in _two_images()])
    total = torch.stack(metric.results).sum(0)
    assert total.tolist() == [INTER, UNION, PRED, LABEL]
    assert total.dtype == torch.int64  # exact counts, no float32 rounding on big data sets
    # mmseg-style static access to the pure functions; image A alone (pairs gt->pred:
    # 0->0 x2, 0->1, 1->1 x2, 4->4, 4->2): intersect, union, pred, label
    areas = IoUMetric.intersect_and_union(torch.tensor(PRED_A), torch.tensor(GT_A), 5, 255)
    assert [a.tolist() for a in areas] == [[2, 2, 0, 0, 1], [3, 3, 1, 0, 2], [2, 3, 1, 0, 1],
                                           [3, 2, 0, 0, 2]]


def test_all_metrics_hand_computed() -> None:
    res = _evaluate(dict(iou_metrics=['mIoU', 'mDice', 'mFscore']), _two_images())
    expected = {
        'aAcc': round(100 * 8 / 12, 2),  # 66.67
        'mIoU': _mean_percent(IOU),  # (0.6 + 0.6 + 0 + 0.5) / 4 = 42.5
        'mAcc': _mean_percent(ACC),  # (0.75 + 0.75 + 0.5) / 3 = 66.67
        'mDice': _mean_percent(DICE),  # (0.75 + 0.75 + 0 + 2/3) / 4 = 54.17
        'mFscore': _mean_percent(F1),
        'mPrecision': _mean_percent(PRECISION),  # (0.75 + 0.75 + 0 + 1) / 4 = 62.5
        'mRecall': _mean_percent(RECALL),
    }
    assert expected['mIoU'] == 42.5 and expected['mDice'] == 54.17
    assert expected['aAcc'] == 66.67 and expected['mPrecision'] == 62.5
    assert res == pytest.approx(expected, abs=1e-9)
    assert list(res) == ['aAcc', 'mIoU', 'mAcc', 'mDice', 'mFscore', 'mPrecision', 'mRecall']
    assert all(isinstance(v, float) for v in res.values())


def test_fscore_beta2() -> None:
    res = _evaluate(dict(iou_metrics=['mFscore'], beta=2), _two_images())
    # (0.75 + 0.75 + 0 + 10/18) / 4 = 0.513889
    assert res['mFscore'] == _mean_percent(F2) == 51.39
    assert res['mPrecision'] == 62.5 and res['mRecall'] == 66.67


def test_batched_and_dict_inputs_give_same_result() -> None:
    per_image = _evaluate(dict(iou_metrics=['mIoU', 'mFscore']), _two_images())
    batched = _evaluate(dict(iou_metrics=['mIoU', 'mFscore']), _two_images(), batch_size=2)
    assert per_image == batched
    metric = IoUMetric(iou_metrics=['mIoU', 'mFscore'])
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process(None, [s.to_dict() for s in _two_images()])
    assert metric.evaluate(2) == per_image


def test_nan_to_num_counts_absent_class_in_mean() -> None:
    res = _evaluate(dict(iou_metrics=['mIoU'], nan_to_num=0), _two_images())
    # class 3 now counts as 0: (0.6 + 0.6 + 0 + 0 + 0.5) / 5; Acc: (0.75 + 0.75 + 0.5) / 5
    assert res == {'aAcc': 66.67, 'mIoU': 34.0, 'mAcc': 40.0}


def test_ignored_pixels_never_count() -> None:
    base = _evaluate(dict(iou_metrics=['mIoU', 'mDice', 'mFscore']), _two_images())
    # Change every prediction under an ignored GT pixel, and add an all-ignored image.
    pred_a = [row[:] for row in PRED_A]
    pred_a[1][3] = 0
    pred_b = [row[:] for row in PRED_B]
    pred_b[1][0] = 1
    samples = [_sample(pred_a, GT_A), _sample(pred_b, GT_B),
               _sample([[2, 3], [4, 0]], [[255, 255], [255, 255]])]
    assert _evaluate(dict(iou_metrics=['mIoU', 'mDice', 'mFscore']), samples) == base
    # With ignore_index=4 class 4's pixels are ignored instead and 255 becomes an
    # out-of-range label (no class's GT): aAcc = 6 matches / 8 pixels labeled 0 or 1.
    res = _evaluate(dict(ignore_index=4), _two_images())
    assert res['aAcc'] == 75.0


class _ListHandler(logging.Handler):

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_per_class_table_is_logged() -> None:
    logger = MMLogger.get_current_instance()
    handler = _ListHandler()
    logger.addHandler(handler)
    try:
        _evaluate(dict(iou_metrics=['mIoU', 'mFscore']), _two_images())
    finally:
        logger.removeHandler(handler)
    text = '\n'.join(handler.messages)
    assert 'per class results' in text
    lines = text.splitlines()
    header = next(line for line in lines if '| Class' in line)
    assert [c.strip() for c in header.strip('|').split('|')] == [
        'Class', 'IoU', 'Acc', 'Fscore', 'Precision', 'Recall']

    def row(name: str) -> List[str]:
        line = next(line for line in lines if line.startswith(f'| {name} '))
        return [c.strip() for c in line.strip('|').split('|')]

    # IoU, Acc, Fscore, Precision, Recall in percent
    assert row('road') == ['road', '60.00', '75.00', '75.00', '75.00', '75.00']
    assert row('sky') == ['sky', '0.00', 'nan', '0.00', '0.00', 'nan']
    assert row('tree') == ['tree', 'nan', 'nan', 'nan', 'nan', 'nan']
    assert row('person') == ['person', '50.00', '50.00', '66.67', '100.00', '50.00']


@pytest.mark.parametrize('iou_metrics, keys', [
    (['mIoU'], ['aAcc', 'mIoU', 'mAcc']),
    ('mIoU', ['aAcc', 'mIoU', 'mAcc']),
    (['mDice'], ['aAcc', 'mDice', 'mAcc']),
    (['mFscore'], ['aAcc', 'mFscore', 'mPrecision', 'mRecall']),
    (['mIoU', 'mDice'], ['aAcc', 'mIoU', 'mAcc', 'mDice']),
    (['mDice', 'mFscore'], ['aAcc', 'mDice', 'mAcc', 'mFscore', 'mPrecision', 'mRecall']),
])
def test_result_keys(iou_metrics, keys: List[str]) -> None:
    assert list(_evaluate(dict(iou_metrics=iou_metrics), _two_images())) == keys


def test_prefix_and_default_config() -> None:
    res = _evaluate(dict(prefix='val'), _two_images())
    assert res == {'val/aAcc': 66.67, 'val/mIoU': 42.5, 'val/mAcc': 66.67}


def test_bad_arguments_and_missing_meta() -> None:
    with pytest.raises(ValueError, match=r"\['mAP'\].*'mIoU', 'mDice', 'mFscore'"):
        IoUMetric(iou_metrics=['mIoU', 'mAP'])
    with pytest.raises(ValueError, match='output_dir'):
        IoUMetric(format_only=True)
    metric = IoUMetric()
    with pytest.raises(RuntimeError, match=r"dataset_meta\['classes'\]"):
        metric.process(None, [_two_images()[0].to_dict()])
    metric.dataset_meta = dict(classes=CLASSES)
    no_gt = _sample(PRED_A).to_dict()
    with pytest.raises(KeyError, match='gt_sem_seg'):
        metric.process(None, [no_gt])


def _read_png(path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, path
    return img


def test_output_dir_writes_pngs_and_still_evaluates(tmp_path) -> None:
    out = tmp_path / 'nested' / 'preds'  # does not exist yet
    city_img = 'leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png'
    samples = [_sample(PRED_A, GT_A, city_img),
               _sample(PRED_B, GT_B, '/data/ade/images/ADE_val_00000001.jpg')]
    res = _evaluate(dict(output_dir=str(out)), samples)
    assert res == {'aAcc': 66.67, 'mIoU': 42.5, 'mAcc': 66.67}
    assert sorted(p.name for p in out.iterdir()) == [
        'ADE_val_00000001.png', 'frankfurt_000000_000294.png']
    png = _read_png(out / 'frankfurt_000000_000294.png')
    assert png.dtype == np.uint8
    np.testing.assert_array_equal(png, np.array(PRED_A))
    np.testing.assert_array_equal(_read_png(out / 'ADE_val_00000001.png'), np.array(PRED_B))


def test_reduce_zero_label_adds_one(tmp_path) -> None:
    samples = [_sample(PRED_A, GT_A, 'a.jpg', reduce_zero_label=True),
               _sample(PRED_B, GT_B, 'b.jpg', reduce_zero_label=False)]
    _evaluate(dict(output_dir=str(tmp_path)), samples)
    np.testing.assert_array_equal(_read_png(tmp_path / 'a.png'), np.array(PRED_A) + 1)
    np.testing.assert_array_equal(_read_png(tmp_path / 'b.png'), np.array(PRED_B))
    # A sample without the key follows the dataset's metainfo.
    _evaluate(dict(output_dir=str(tmp_path / 'ds')), [_sample(PRED_B, GT_B, 'c.jpg')],
              meta=dict(classes=CLASSES, reduce_zero_label=True))
    np.testing.assert_array_equal(_read_png(tmp_path / 'ds' / 'c.png'), np.array(PRED_B) + 1)


CITYSCAPES_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)


def test_format_only_cityscapes_label_ids_without_gt(tmp_path) -> None:
    classes = tuple(f'c{i}' for i in range(19))
    meta = dict(classes=classes, label_ids=CITYSCAPES_LABEL_IDS)
    pred = [[0, 1, 18], [5, 10, 13]]  # road, sidewalk, bicycle / pole, sky, car
    samples = [_sample(pred, None, 'x/munster_000001_000019_leftImg8bit.png')]
    res = _evaluate(dict(format_only=True, output_dir=str(tmp_path / 'submit')), samples,
                    meta=meta)
    assert res == {}
    png = _read_png(tmp_path / 'submit' / 'munster_000001_000019.png')
    np.testing.assert_array_equal(png, [[7, 8, 33], [17, 23, 26]])
    assert png.dtype == np.uint8


def test_format_only_keeps_results_empty_and_still_writes_pngs(tmp_path) -> None:
    """As mmseg: with format_only, process() stores nothing and compute_metrics returns {}."""
    metric = IoUMetric(format_only=True, output_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process(None, [_sample(PRED_A, None, 'a.jpg').to_dict(),
                          _sample(PRED_B, GT_B, 'b.jpg').to_dict()])
    assert metric.results == []
    assert metric.compute_metrics(metric.results) == {}
    np.testing.assert_array_equal(_read_png(tmp_path / 'a.png'), np.array(PRED_A))
    np.testing.assert_array_equal(_read_png(tmp_path / 'b.png'), np.array(PRED_B))
    assert metric.evaluate(2) == {}


def test_large_label_ids_written_as_uint16_and_bad_label_ids(tmp_path) -> None:
    meta = dict(classes=('a', 'b'), label_ids=(3, 1000))
    samples = [_sample([[0, 1]], None, 'img.png')]
    _evaluate(dict(format_only=True, output_dir=str(tmp_path)), samples, meta=meta)
    png = _read_png(tmp_path / 'img.png')
    assert png.dtype == np.uint16
    np.testing.assert_array_equal(png, [[3, 1000]])
    metric = IoUMetric(format_only=True, output_dir=str(tmp_path))
    metric.dataset_meta = dict(classes=('a', 'b'), label_ids=(3, ))
    with pytest.raises(ValueError, match='label_ids'):
        metric.process(None, [samples[0].to_dict()])
