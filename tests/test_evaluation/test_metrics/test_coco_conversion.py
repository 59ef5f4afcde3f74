"""Tests of segdet/evaluation/metrics/coco_conversion.py: the ground truth CocoMetric converts
without ann_file takes its ``area`` from the box (mmdet's gt_to_coco_json), not the mask."""
import json
from typing import Dict

import numpy as np
import pycocotools.mask as mask_util
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from pycocotools.coco import COCO

from segdet.evaluation.metrics import CocoMetric
from segdet.evaluation.metrics.coco_conversion import coco_gt_boxes, gt_to_coco_dict
from segdet.structures.data_sample import DataSample

H = W = 160
# Object A: box 40 x 40 (area 1600, medium) whose mask is 40 x 20 (area 800, small).
# Object B: box 100 x 100 (area 10000, large) whose mask is 100 x 50 (area 5000, medium).
BOX_A, BOX_B = [10, 10, 50, 50], [50, 50, 150, 150]


def _mask(x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y1:y2, x1:x2] = True
    return mask


MASK_A, MASK_B = _mask(10, 10, 50, 30), _mask(50, 50, 150, 100)


def _rle(mask: np.ndarray) -> dict:
    rle = mask_util.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=rle['size'], counts=rle['counts'].decode())


def _instances() -> list:
    return [dict(bbox=BOX_A, bbox_label=0, ignore_flag=0, mask=_rle(MASK_A)),
            dict(bbox=BOX_B, bbox_label=0, ignore_flag=0, mask=_rle(MASK_B))]


def test_gt_area_is_the_box_area() -> None:
    coco = gt_to_coco_dict([dict(img_id=1, height=H, width=W, anns=_instances())], ['thing'])
    assert [a['area'] for a in coco['annotations']] == [1600.0, 10000.0]
    assert [a['bbox'] for a in coco['annotations']] == [[10, 10, 40, 40], [50, 50, 100, 100]]
    assert mask_util.area(coco['annotations'][0]['segmentation']) == 800  # mask kept as given


def _sample(with_gt: bool) -> DataSample:
    """Only A is detected (box and mask exact, score 0.9); B is missed."""
    sample = DataSample(metainfo=dict(img_id=1, ori_shape=(H, W)))
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([BOX_A], dtype=torch.float32), scores=torch.tensor([0.9]),
        labels=torch.tensor([0]), masks=torch.from_numpy(MASK_A[None]))
    if with_gt:
        sample.set_metainfo(dict(instances=_instances()))
    return sample


def _evaluate(**cfg) -> Dict[str, float]:
    evaluator = Evaluator(CocoMetric(metric=['bbox', 'segm'], **cfg))
    evaluator.dataset_meta = dict(classes=('thing', ))
    evaluator.process([_sample(with_gt='ann_file' not in cfg)])
    return evaluator.evaluate(1)


def test_area_ranges_follow_the_box_area(tmp_path) -> None:
    """Hand-computed: one of two objects found. AP (all) = 51/101 (precision 1 up to recall
    0.5, at 51 of the 101 recall points); the found object is medium and the missed one large
    by box area, so AP_m = 1, AP_l = 0, AP_s = -1 (no object): for 'bbox' and 'segm' alike."""
    ap_all = round(51 / 101, 3)
    by_box = dict(mAP=ap_all, mAP_50=ap_all, mAP_75=ap_all, mAP_s=-1.0, mAP_m=1.0, mAP_l=0.0)
    res = _evaluate()
    assert res == {f'coco/{m}_{k}': v for m in ('bbox', 'segm') for k, v in by_box.items()}

    # An ann file holding the mask areas (800, 5000) moves both objects down one range.
    gt = dict(images=[dict(id=1, height=H, width=W)], categories=[dict(id=1, name='thing')],
              annotations=[dict(id=i + 1, image_id=1, category_id=1, iscrowd=0,
                                bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]],
                                area=float(m.sum()), segmentation=_rle(m))
                           for i, (b, m) in enumerate(((BOX_A, MASK_A), (BOX_B, MASK_B)))])
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(gt))
    by_mask = dict(by_box, mAP_s=1.0, mAP_m=0.0, mAP_l=-1.0)
    assert _evaluate(ann_file=str(path)) == {
        f'coco/{m}_{k}': v for m in ('bbox', 'segm') for k, v in by_mask.items()}


def test_coco_gt_boxes_leave_out_crowd_and_ignore() -> None:
    api = COCO()
    api.dataset = dict(images=[dict(id=5), dict(id=6)], categories=[dict(id=1, name='a')],
                       annotations=[
                           dict(id=1, image_id=5, category_id=1, bbox=[1, 2, 3, 4], iscrowd=0),
                           dict(id=2, image_id=5, category_id=1, bbox=[0, 0, 9, 9], iscrowd=1),
                           dict(id=3, image_id=5, category_id=1, bbox=[0, 0, 5, 5], iscrowd=0,
                                ignore=1)])
    api.createIndex()
    np.testing.assert_array_equal(coco_gt_boxes(api, 5), [[1, 2, 4, 6]])
    assert coco_gt_boxes(api, 6).shape == (0, 4)
