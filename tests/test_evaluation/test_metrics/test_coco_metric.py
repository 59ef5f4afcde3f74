"""Tests of segdet/evaluation/metrics/coco_metric.py: CocoMetric vs pycocotools run directly."""
import json
import logging
from typing import Dict, List, Optional, Tuple

import numpy as np
import pycocotools.mask as mask_util
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segdet.evaluation import CocoMetric
from segdet.registry import METRICS
from segdet.structures.data_sample import DataSample

# Category ids are non-contiguous; the ann file lists them in yet another order than both
# CLASSES and the sorted ids, so a wrong label -> category mapping changes the numbers.
CAT_NAMES = {90: 'bird', 1: 'cat', 7: 'dog'}
CLASSES = ('dog', 'bird', 'cat')
LABEL_OF = {cat: CLASSES.index(name) for cat, name in CAT_NAMES.items()}
AP_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
IMG_IDS = (3, 8, 15, 42)  # 42 has no ground truth, 15 gets no detections


def _ellipse(h: int, w: int, x: int, y: int, bw: int, bh: int) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    cy, cx = y + bh / 2 - 0.5, x + bw / 2 - 0.5
    return ((yy - cy) / (bh / 2)) ** 2 + ((xx - cx) / (bw / 2)) ** 2 <= 1


def _uncompressed_rle(mask: np.ndarray) -> dict:
    """COCO uncompressed RLE (column-major runs, starting with a run of zeros)."""
    flat = mask.astype(np.uint8).flatten(order='F')
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], change])).tolist()
    return dict(size=list(mask.shape), counts=counts)


def _make_gt(rng: np.random.Generator) -> dict:
    """A COCO ground-truth dict: polygons, compressed RLE, crowds with uncompressed RLE."""
    images, anns = [], []
    for img_id in IMG_IDS:
        h, w = (int(v) for v in rng.integers(120, 200, size=2))
        images.append(dict(id=img_id, height=h, width=w, file_name=f'{img_id}.jpg'))
        for _ in range(0 if img_id == 42 else int(rng.integers(4, 8))):
            side = int(rng.choice([rng.integers(6, 30), rng.integers(35, 90),
                                   rng.integers(100, 115)]))
            bw, bh = side, max(4, min(h - 2, int(side * rng.uniform(0.7, 1.3))))
            x, y = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            crowd = rng.random() < 0.15
            if not crowd and rng.random() < 0.4:
                segm = [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]]
                rle = mask_util.merge(mask_util.frPyObjects(segm, h, w))
            else:
                mask = _ellipse(h, w, x, y, bw, bh)
                rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
                segm = (_uncompressed_rle(mask) if crowd else
                        dict(size=[h, w], counts=rle['counts'].decode()))
            anns.append(dict(id=len(anns) + 1, image_id=img_id,
                             category_id=int(rng.choice(list(CAT_NAMES))), iscrowd=int(crowd),
                             segmentation=segm, area=float(mask_util.area(rle)),
                             bbox=[float(v) for v in mask_util.toBbox(rle)]))
    cats = [dict(id=i, name=n, supercategory='animal') for i, n in CAT_NAMES.items()]
    return dict(images=images, annotations=anns, categories=cats)


def _make_dets(coco: COCO, rng: np.random.Generator) -> Dict[int, dict]:
    """Per image: float32 xyxy boxes, scores, category ids and bool masks (numpy)."""
    dets = {}
    for img_id in IMG_IDS:
        h, w = coco.imgs[img_id]['height'], coco.imgs[img_id]['width']
        boxes, scores, cats, masks = [], [], [], []
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
            if img_id == 15 or rng.random() < 0.2:
                continue
            x, y, bw, bh = ann['bbox']
            jitter = rng.normal(0, 0.07, size=4) * [bw, bh, bw, bh]
            boxes.append([x, y, x + bw, y + bh] + jitter)
            wrong = rng.random() < 0.1
            cats.append(int(rng.choice(list(CAT_NAMES))) if wrong else ann['category_id'])
            dy, dx = rng.integers(-2, 3, size=2)
            masks.append(np.roll(coco.annToMask(ann).astype(bool), (dy, dx), axis=(0, 1)))
            scores.append(rng.random())
        for _ in range(0 if img_id == 15 else int(rng.integers(1, 4))):  # false positives
            x, y = rng.integers(0, w - 40), rng.integers(0, h - 40)
            bw, bh = rng.integers(5, 40, size=2)
            boxes.append([x, y, x + bw, y + bh])
            cats.append(int(rng.choice(list(CAT_NAMES))))
            masks.append(_ellipse(h, w, x, y, bw, bh))
            scores.append(rng.random() * 0.6)
        dets[img_id] = dict(bboxes=np.asarray(boxes, np.float32).reshape(-1, 4),
                            scores=np.asarray(scores, np.float32), cats=np.asarray(cats),
                            masks=np.asarray(masks, bool).reshape(-1, h, w))
    return dets


def _sample(img_id: int, shape: Tuple[int, int], det: dict,
            with_masks: bool = True) -> DataSample:
    sample = DataSample(metainfo=dict(img_id=img_id, ori_shape=shape))
    pred = InstanceData(bboxes=torch.from_numpy(det['bboxes']),
                        scores=torch.from_numpy(det['scores']),
                        labels=torch.tensor([LABEL_OF[c] for c in det['cats']], dtype=torch.long))
    if with_masks:
        pred.masks = torch.from_numpy(det['masks'])
    sample.pred_instances = pred
    return sample


def _direct_stats(coco: COCO, dets: Dict[int, dict], iou_type: str) -> np.ndarray:
    """COCOeval.stats run straight on the detections (default parameters)."""
    entries = []
    for img_id, det in dets.items():
        for box, score, cat, mask in zip(det['bboxes'].astype(np.float64), det['scores'],
                                         det['cats'], det['masks']):
            entry = dict(image_id=img_id, category_id=int(cat), score=float(score))
            if iou_type == 'bbox':
                entry['bbox'] = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            else:
                rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
                entry['segmentation'] = dict(size=rle['size'], counts=rle['counts'].decode())
            entries.append(entry)
    coco_eval = COCOeval(coco, coco.loadRes(entries), iou_type)
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
    return coco_eval.stats


@pytest.fixture(scope='module')
def data(tmp_path_factory: pytest.TempPathFactory) -> Tuple[str, COCO, Dict[int, dict]]:
    rng = np.random.default_rng(0)
    gt = _make_gt(rng)
    path = tmp_path_factory.mktemp('coco') / 'gt.json'
    path.write_text(json.dumps(gt))
    coco = COCO(str(path))
    return str(path), coco, _make_dets(coco, rng)


def _samples(coco: COCO, dets: Dict[int, dict], with_masks: bool = True) -> List[DataSample]:
    return [_sample(i, (coco.imgs[i]['height'], coco.imgs[i]['width']), dets[i], with_masks)
            for i in IMG_IDS]


def _evaluate(cfg: dict, samples: list,
              classes: Optional[Tuple[str, ...]] = CLASSES) -> Dict[str, float]:
    evaluator = Evaluator(METRICS.build(dict(type='CocoMetric', **cfg)))
    if classes is not None:
        evaluator.dataset_meta = dict(classes=classes)
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def _expected(coco: COCO, dets: Dict[int, dict], metrics=('bbox', 'segm')) -> Dict[str, float]:
    out = {}
    for metric in metrics:
        stats = _direct_stats(coco, dets, metric)
        out.update({f'coco/{metric}_{item}': round(float(stats[i]), 3)
                    for i, item in enumerate(AP_ITEMS)})
    return out


def test_matches_pycocotools(data) -> None:
    ann_file, coco, dets = data
    res = _evaluate(dict(ann_file=ann_file, metric=['bbox', 'segm']), _samples(coco, dets))
    expected = _expected(coco, dets)
    assert res == expected
    # The data exercise the evaluation: imperfect but far from zero, all size ranges present.
    assert 0.2 < res['coco/bbox_mAP'] < 0.95 and 0.2 < res['coco/segm_mAP'] < 0.95
    assert all(v > 0 for v in res.values())


def test_category_fallback_and_sorting(data) -> None:
    """Without dataset_meta, label k is the k-th smallest category id."""
    ann_file, coco, dets = data
    by_sorted_id = {cat: k for k, cat in enumerate(sorted(CAT_NAMES))}
    samples = _samples(coco, dets)
    for sample, img_id in zip(samples, IMG_IDS):
        sample.pred_instances.labels = torch.tensor(
            [by_sorted_id[c] for c in dets[img_id]['cats']], dtype=torch.long)
    res = _evaluate(dict(ann_file=ann_file, sort_categories=True), samples, classes=None)
    assert res == _expected(coco, dets, metrics=('bbox', ))


def _box_area_ann_file(ann_file: str, tmp_path) -> str:
    """The ann file with each ``area`` replaced by its box's ``w * h``."""
    gt = json.loads(open(ann_file).read())
    for ann in gt['annotations']:
        ann['area'] = ann['bbox'][2] * ann['bbox'][3]
    path = tmp_path / 'gt_box_area.json'
    path.write_text(json.dumps(gt))
    return str(path)


def test_ground_truth_from_data_samples(data, tmp_path) -> None:
    """Without ann_file the ground truth from 'instances' or 'gt_instances' gives the same APs
    as the ann file, once its areas are the box areas (the converted ground truth takes the
    area from the box, as mmdet's gt_to_coco_json; the ann file holds mask areas)."""
    ann_file, coco, dets = data
    expected = _evaluate(dict(ann_file=_box_area_ann_file(ann_file, tmp_path),
                              metric=['bbox', 'segm']), _samples(coco, dets))
    raw, packed = _samples(coco, dets), _samples(coco, dets)
    for s_raw, s_packed, img_id in zip(raw, packed, IMG_IDS):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        s_raw.set_metainfo(dict(instances=[
            dict(bbox=[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                       a['bbox'][1] + a['bbox'][3]],
                 bbox_label=LABEL_OF[a['category_id']], ignore_flag=a['iscrowd'],
                 mask=a['segmentation']) for a in anns]))
        for field, crowd in (('gt_instances', 0), ('ignored_instances', 1)):
            part = [a for a in anns if a['iscrowd'] == crowd]
            h, w = s_packed.ori_shape
            setattr(s_packed, field, InstanceData(
                bboxes=torch.tensor([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                                      a['bbox'][1] + a['bbox'][3]] for a in part]).reshape(-1, 4),
                labels=torch.tensor([LABEL_OF[a['category_id']] for a in part], dtype=torch.long),
                masks=torch.from_numpy(np.asarray([coco.annToMask(a) for a in part],
                                                  bool).reshape(-1, h, w))))
    assert _evaluate(dict(metric=['bbox', 'segm']), raw) == expected
    assert _evaluate(dict(metric=['bbox', 'segm']), packed) == expected


def test_result_files_load(data, tmp_path) -> None:
    ann_file, coco, dets = data
    prefix = str(tmp_path / 'out' / 'res')
    res = _evaluate(dict(ann_file=ann_file, metric=['bbox', 'segm'], outfile_prefix=prefix),
                    _samples(coco, dets))
    assert res == _expected(coco, dets)
    num = sum(len(d['scores']) for d in dets.values())
    for kind in ('bbox', 'segm'):
        entries = json.loads(open(f'{prefix}.{kind}.json').read())
        assert len(entries) == num
        assert {e['category_id'] for e in entries} <= set(CAT_NAMES)
        assert len(coco.loadRes(f'{prefix}.{kind}.json').getAnnIds()) == num
    first = json.loads(open(f'{prefix}.segm.json').read())[0]
    assert isinstance(first['segmentation']['counts'], str) and len(first['bbox']) == 4


def test_format_only(data, tmp_path) -> None:
    ann_file, coco, dets = data
    prefix = str(tmp_path / 'submit')
    res = _evaluate(dict(ann_file=ann_file, metric='segm', format_only=True,
                         outfile_prefix=prefix), _samples(coco, dets))
    assert res == {}
    assert (tmp_path / 'submit.bbox.json').is_file()
    assert (tmp_path / 'submit.segm.json').is_file()
    with pytest.raises(ValueError, match='outfile_prefix'):
        CocoMetric(ann_file=ann_file, format_only=True)


class _ListHandler(logging.Handler):

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_classwise_table(data) -> None:
    ann_file, coco, dets = data
    logger = MMLogger.get_current_instance()
    handler = _ListHandler()
    logger.addHandler(handler)
    try:
        res = _evaluate(dict(ann_file=ann_file, classwise=True), _samples(coco, dets, False))
    finally:
        logger.removeHandler(handler)
    text = '\n'.join(handler.messages)
    table = text[text.index('| category'):]
    for name in CLASSES:
        assert f'| {name} ' in table
        assert 0 < res[f'coco/bbox_{name}_precision'] <= 1
    assert 'bbox_mAP_copypaste: ' + ' '.join(
        f'{res[f"coco/bbox_{item}"]:.3f}' for item in AP_ITEMS) in text


def test_zero_detections(data) -> None:
    ann_file, coco, dets = data
    empty = {i: dict(bboxes=np.zeros((0, 4), np.float32), scores=np.zeros(0, np.float32),
                     cats=np.zeros(0, int), masks=np.zeros((0, *d['masks'].shape[1:]), bool))
             for i, d in dets.items()}
    res = _evaluate(dict(ann_file=ann_file, metric=['bbox', 'segm']), _samples(coco, empty))
    assert res == {f'coco/{m}_{item}': 0.0 for m in ('bbox', 'segm') for item in AP_ITEMS}


def test_detections_equal_ground_truth(tmp_path) -> None:
    """Boxes and masks equal to the ground truth: AP 1 at every size."""
    h, w = 128, 128
    boxes = {1: [(2, 2, 12, 12, 1), (20, 20, 60, 60, 7)], 2: [(10, 10, 110, 110, 90)]}
    images, anns, samples = [], [], []
    for img_id, objs in boxes.items():
        images.append(dict(id=img_id, height=h, width=w))
        masks = []
        for x1, y1, x2, y2, cat in objs:
            mask = np.zeros((h, w), bool)
            mask[y1:y2, x1:x2] = True
            rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=cat, iscrowd=0,
                             bbox=[x1, y1, x2 - x1, y2 - y1], area=float(mask.sum()),
                             segmentation=dict(size=[h, w], counts=rle['counts'].decode())))
            masks.append(mask)
        det = dict(bboxes=np.asarray([o[:4] for o in objs], np.float32),
                   scores=np.ones(len(objs), np.float32), cats=np.asarray([o[4] for o in objs]),
                   masks=np.asarray(masks))
        samples.append(_sample(img_id, (h, w), det))
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=[
        dict(id=i, name=n) for i, n in CAT_NAMES.items()])))
    res = _evaluate(dict(ann_file=str(path), metric=['bbox', 'segm', 'proposal']), samples)
    expected = {f'coco/{m}_{item}': 1.0 for m in ('bbox', 'segm') for item in AP_ITEMS}
    expected.update({f'coco/{item}': 1.0 for item in (
        'AR@100', 'AR@300', 'AR@1000', 'AR_s@1000', 'AR_m@1000', 'AR_l@1000')})
    assert res == expected


def test_argument_errors(data) -> None:
    ann_file, coco, dets = data
    with pytest.raises(KeyError, match='metric must be among'):
        CocoMetric(ann_file=ann_file, metric='panoptic')
    with pytest.raises(KeyError, match='metric_items'):
        CocoMetric(ann_file=ann_file, metric_items=['mAP_xl'])
    with pytest.raises(KeyError, match="'segm' needs predicted masks"):
        _evaluate(dict(ann_file=ann_file, metric='segm'), _samples(coco, dets, False))
    with pytest.raises(KeyError, match='not categories'):
        _evaluate(dict(ann_file=ann_file), _samples(coco, dets), classes=('dog', 'cow', 'cat'))
    res = _evaluate(dict(ann_file=ann_file, metric_items=['mAP_50', 'AR@300']),
                    _samples(coco, dets, False))
    assert list(res) == ['coco/bbox_mAP_50', 'coco/bbox_AR@300']


def test_dict_samples_with_encoded_masks_and_mask_scores(data) -> None:
    """Plain dict samples, masks already RLE (bytes counts), segm scored by mask_scores."""
    ann_file, coco, dets = data
    samples = []
    for img_id in IMG_IDS:
        det = dets[img_id]
        rles = [mask_util.encode(np.asfortranarray(m.astype(np.uint8))) for m in det['masks']]
        samples.append(dict(
            img_id=img_id, ori_shape=det['masks'].shape[1:],
            pred_instances=dict(bboxes=torch.from_numpy(det['bboxes']),
                                scores=torch.from_numpy(det['scores']),
                                labels=torch.tensor([LABEL_OF[c] for c in det['cats']]),
                                masks=rles, mask_scores=torch.from_numpy(1 - det['scores']))))
    res = _evaluate(dict(ann_file=ann_file, metric=['bbox', 'segm']), samples)
    flipped = {i: dict(d, scores=1 - d['scores']) for i, d in dets.items()}
    expected = _expected(coco, dets, metrics=('bbox', ))
    expected.update({k: v for k, v in _expected(coco, flipped).items() if 'segm' in k})
    assert res == expected
    assert res != _expected(coco, dets)


def test_truncated_ann_file_is_named(data, tmp_path) -> None:
    ann_file, _, _ = data
    text = open(ann_file).read()
    truncated = tmp_path / 'truncated.json'
    truncated.write_text(text[:len(text) // 3])
    with pytest.raises(ValueError) as err:
        CocoMetric(ann_file=str(truncated))
    msg = str(err.value)
    assert msg.startswith(f'CocoMetric: annotation file {truncated} is not valid JSON')
    assert 'truncated' in msg
    with pytest.raises(FileNotFoundError, match=str(tmp_path / 'missing.json')):
        CocoMetric(ann_file=str(tmp_path / 'missing.json'))


def _direct_class_ap(coco: COCO, dets: Dict[int, dict], iou_type: str) -> Dict[str, float]:
    """Per-class COCO AP from COCOeval run directly: the mean of the defined precision entries
    over IoU thresholds and recall points, area 'all', the largest maxDets."""
    entries = []
    for img_id, det in dets.items():
        for box, score, cat, mask in zip(det['bboxes'].astype(np.float64), det['scores'],
                                         det['cats'], det['masks']):
            entry = dict(image_id=img_id, category_id=int(cat), score=float(score))
            if iou_type == 'bbox':
                entry['bbox'] = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            else:
                rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
                entry['segmentation'] = dict(size=rle['size'], counts=rle['counts'].decode())
            entries.append(entry)
    coco_eval = COCOeval(coco, coco.loadRes(entries), iou_type)
    coco_eval.evaluate()
    coco_eval.accumulate()
    out = {}
    for k, cat in enumerate(coco_eval.params.catIds):
        p = coco_eval.eval['precision'][:, :, k, 0, -1]
        out[CAT_NAMES[cat]] = round(float(p[p > -1].mean()), 3)
    return out


def test_classwise_keys_as_mmdet(data) -> None:
    """mmdet 3.3.0 returns '{class}_precision' (the class's AP over IoU 0.50:0.95, no per-class
    AP50 / AP75 keys), placed before the metric's items; with 'bbox' and 'segm' the key holds
    the last metric's value. segdet's '{metric}_{class}_precision' stay."""
    ann_file, coco, dets = data
    res = _evaluate(dict(ann_file=ann_file, metric=['bbox', 'segm'], classwise=True),
                    _samples(coco, dets))
    bbox_ap, segm_ap = (_direct_class_ap(coco, dets, t) for t in ('bbox', 'segm'))
    assert list(res)[:3] == [f'coco/{name}_precision' for name in CLASSES]
    expected = dict(_expected(coco, dets))
    for name in CLASSES:
        expected[f'coco/{name}_precision'] = segm_ap[name]
        expected[f'coco/bbox_{name}_precision'] = bbox_ap[name]
        expected[f'coco/segm_{name}_precision'] = segm_ap[name]
    assert res == expected
    assert any(bbox_ap[n] != segm_ap[n] for n in CLASSES)  # the overwrite is visible
    bbox_only = _evaluate(dict(ann_file=ann_file, classwise=True), _samples(coco, dets, False))
    assert {k: v for k, v in bbox_only.items() if k.count('_') == 1 and 'precision' in k} == {
        f'coco/{n}_precision': bbox_ap[n] for n in CLASSES}


def test_iou_thrs_and_proposal_nums_stored_as_mmdet(data) -> None:
    """iou_thrs: None -> np.linspace(.5, .95, 10); otherwise the value as given. proposal_nums:
    a list. The evaluation reads self.iou_thrs (also when set after construction)."""
    ann_file, coco, dets = data
    default = CocoMetric(ann_file=ann_file)
    assert isinstance(default.iou_thrs, np.ndarray) and default.iou_thrs.dtype == np.float64
    np.testing.assert_allclose(default.iou_thrs, [.5, .55, .6, .65, .7, .75, .8, .85, .9, .95])
    assert default.proposal_nums == [100, 300, 1000]
    assert isinstance(default.proposal_nums, list)
    given = CocoMetric(ann_file=ann_file, iou_thrs=[0.5, 0.75], proposal_nums=(1, 10, 100))
    assert given.iou_thrs == [0.5, 0.75] and given.proposal_nums == [1, 10, 100]
    assert CocoMetric(ann_file=ann_file, iou_thrs=0.5).iou_thrs == 0.5
    assert CocoMetric(ann_file=ann_file, iou_thrs=(0.6, 0.7)).iou_thrs == (0.6, 0.7)

    full = _evaluate(dict(ann_file=ann_file), _samples(coco, dets, False))
    metric = CocoMetric(ann_file=ann_file)
    metric.iou_thrs = [0.5]  # as a port may set it; mmdet's evaluation reads the attribute
    evaluator = Evaluator(metric)
    evaluator.dataset_meta = dict(classes=CLASSES)
    evaluator.process(_samples(coco, dets, False))
    at_50 = evaluator.evaluate(len(IMG_IDS))
    # One threshold: AP over thresholds is AP50; there is no 0.75 column (-1).
    assert at_50['coco/bbox_mAP'] == at_50['coco/bbox_mAP_50'] == full['coco/bbox_mAP_50']
    assert at_50['coco/bbox_mAP_75'] == -1.0
    assert at_50['coco/bbox_mAP'] != full['coco/bbox_mAP']


def test_iou_thrs_and_proposal_nums_errors(data) -> None:
    ann_file, _, _ = data
    for bad in (1.5, [0.5, -0.1], []):
        with pytest.raises(ValueError, match='iou_thrs'):
            CocoMetric(ann_file=ann_file, iou_thrs=bad)
    with pytest.raises(TypeError, match='iou_thrs'):
        CocoMetric(ann_file=ann_file, iou_thrs=['high'])
    with pytest.raises(ValueError, match='3 numbers'):
        CocoMetric(ann_file=ann_file, proposal_nums=(10, 100))
    with pytest.raises(ValueError, match='positive'):
        CocoMetric(ann_file=ann_file, metric='proposal_fast', proposal_nums=(0, 100))
    assert CocoMetric(ann_file=ann_file, metric='proposal_fast',
                      proposal_nums=(10, 100)).proposal_nums == [10, 100]
