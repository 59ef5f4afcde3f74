"""CocoMetric(metric='keypoints') against pycocotools' COCOeval run directly on the same files."""
import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from segdet.datasets.coco_keypoints import COCO_PERSON_KEYPOINTS, COCO_PERSON_SIGMAS
from segdet.evaluation import CocoMetric
from segdet.structures import DataSample

SIGMAS = [0.05, 0.1, 0.1, 0.08]
IMG_IDS = (4, 9, 12)
KP_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_m', 'mAP_l')


def make_gt(rng: np.random.Generator, num_kps: int) -> dict:
    """Persons of medium (about 50 px) and large (about 130 px) size; some keypoints
    unlabelled, one person with none (ignored by COCOeval), one crowd."""
    images, anns = [], []
    for img_id in IMG_IDS:
        images.append(dict(id=img_id, file_name=f'{img_id}.jpg', width=300, height=200))
        for j in range(3):
            side = 50 if j % 2 == 0 else 130
            x, y = float(rng.integers(0, 300 - side)), float(rng.integers(0, 200 - side))
            kx = x + rng.uniform(0, side, num_kps)
            ky = y + rng.uniform(0, side, num_kps)
            v = rng.choice([0, 1, 2], num_kps, p=[0.2, 0.2, 0.6])
            if img_id == 9 and j == 2:
                v[:] = 0
            kps = np.stack([np.where(v > 0, kx, 0), np.where(v > 0, ky, 0), v], 1)
            anns.append(dict(id=len(anns) + 1, image_id=img_id, category_id=1,
                             bbox=[x, y, side, side], area=float(side * side * 0.8),
                             iscrowd=int(img_id == 12 and j == 1),
                             keypoints=[float(t) for t in kps.ravel()],
                             num_keypoints=int((v > 0).sum())))
    names = (list(COCO_PERSON_KEYPOINTS) if num_kps == 17 else
             [f'k{i}' for i in range(num_kps)])
    return dict(images=images, annotations=anns,
                categories=[dict(id=1, name='person', keypoints=names, skeleton=[[1, 2]])])


def make_samples(gt: dict, rng: np.random.Generator, noise: float) -> list:
    """One DataSample dict per image: the persons COCOeval counts, exactly; or with ``noise``
    > 0 all persons with moved keypoints, random scores, some dropped and a false positive."""
    num_kps = len(gt['categories'][0]['keypoints'])
    samples = []
    for img_id in IMG_IDS:
        anns = [a for a in gt['annotations'] if a['image_id'] == img_id]
        if noise:
            anns = [a for a in anns if rng.random() > 0.2]
        else:  # a detection of a person COCOeval ignores would be a false positive
            anns = [a for a in anns if a['num_keypoints'] and not a['iscrowd']]
        kps = np.array([a['keypoints'] for a in anns], np.float32).reshape(-1, num_kps, 3)
        kps = kps[..., :2] + rng.normal(0, noise, kps[..., :2].shape).astype(np.float32)
        boxes = np.array([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                           a['bbox'][1] + a['bbox'][3]] for a in anns], np.float32)
        if noise:
            kps = np.concatenate([kps, rng.uniform(0, 200, (1, num_kps, 2)).astype(np.float32)])
            boxes = np.concatenate([boxes.reshape(-1, 4), [[0, 0, 200, 200]]]).astype(np.float32)
        num = len(kps)
        scores = rng.uniform(0.1, 1.0, num) if noise else np.linspace(1, 0.5, num)
        pred = InstanceData(bboxes=torch.from_numpy(boxes.reshape(-1, 4)),
                            scores=torch.tensor(scores, dtype=torch.float32),
                            labels=torch.zeros(num, dtype=torch.int64),
                            keypoints=torch.from_numpy(kps),
                            keypoint_scores=torch.rand(num, num_kps))
        sample = DataSample(metainfo=dict(img_id=img_id, ori_shape=(200, 300)))
        sample.pred_instances = pred
        samples.append(sample.to_dict())
    return samples


def run_metric(tmp_path: Path, gt: dict, samples: list, sigmas) -> dict:
    ann_file = tmp_path / 'person_keypoints.json'
    ann_file.write_text(json.dumps(gt))
    metric = CocoMetric(ann_file=str(ann_file), metric=['bbox', 'keypoints'],
                        outfile_prefix=str(tmp_path / 'results'))
    metric.dataset_meta = dict(classes=('person', ), sigmas=sigmas)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def direct_cocoeval(tmp_path: Path, sigmas=None) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(tmp_path / 'person_keypoints.json'))
        coco_eval = COCOeval(gt, gt.loadRes(str(tmp_path / 'results.keypoints.json')),
                             'keypoints')
        if sigmas is not None:
            coco_eval.params.kpt_oks_sigmas = np.array(sigmas)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return coco_eval.stats


def test_perfect_keypoints_give_ap_1(tmp_path):
    rng = np.random.default_rng(0)
    gt = make_gt(rng, 4)
    out = run_metric(tmp_path, gt, make_samples(gt, rng, noise=0.0), SIGMAS)
    for item in KP_ITEMS:
        assert out[f'coco/keypoints_{item}'] == 1.0
    stats = direct_cocoeval(tmp_path, SIGMAS)
    assert [out[f'coco/keypoints_{i}'] for i in KP_ITEMS] == [round(s, 3) for s in stats[:5]]


def test_written_results_are_coco_keypoint_results(tmp_path):
    rng = np.random.default_rng(1)
    gt = make_gt(rng, 4)
    samples = make_samples(gt, rng, noise=2.0)
    run_metric(tmp_path, gt, samples, SIGMAS)
    written = json.loads((tmp_path / 'results.keypoints.json').read_text())
    pred = samples[0]['pred_instances']
    first = written[0]
    assert set(first) == {'image_id', 'category_id', 'keypoints', 'score'}
    assert first['image_id'] == IMG_IDS[0] and first['category_id'] == 1
    expected = torch.cat([pred['keypoints'][0], pred['keypoint_scores'][0][:, None]], 1)
    np.testing.assert_allclose(first['keypoints'], expected.flatten().numpy(), rtol=1e-6)
    assert first['score'] == pytest.approx(float(pred['scores'][0]))
    assert len(written) == sum(len(s['pred_instances']['labels']) for s in samples)


def test_an_image_without_detections_equals_cocoeval(tmp_path):
    rng = np.random.default_rng(4)
    gt = make_gt(rng, 4)
    samples = make_samples(gt, rng, noise=2.0)
    pred = samples[0]['pred_instances']
    for key in ('bboxes', 'scores', 'labels', 'keypoints', 'keypoint_scores'):
        pred[key] = pred[key][:0]  # (0, ...) arrays: the image has no detection
    out = run_metric(tmp_path, gt, samples, SIGMAS)
    written = json.loads((tmp_path / 'results.keypoints.json').read_text())
    assert IMG_IDS[0] not in {r['image_id'] for r in written}
    stats = direct_cocoeval(tmp_path, SIGMAS)
    assert [out[f'coco/keypoints_{i}'] for i in KP_ITEMS] == [round(s, 3) for s in stats[:5]]


@pytest.mark.parametrize('seed', [2, 3])
def test_perturbed_keypoints_equal_cocoeval(tmp_path, seed):
    rng = np.random.default_rng(seed)
    gt = make_gt(rng, 4)
    out = run_metric(tmp_path, gt, make_samples(gt, rng, noise=3.0), SIGMAS)
    stats = direct_cocoeval(tmp_path, SIGMAS)
    values = [out[f'coco/keypoints_{i}'] for i in KP_ITEMS]
    assert values == [round(s, 3) for s in stats[:5]]
    assert 0 < values[0] < 1
    assert 'coco/bbox_mAP' in out


def test_coco_person_sigmas_are_pycocotools_defaults(tmp_path):
    rng = np.random.default_rng(4)
    gt = make_gt(rng, 17)
    out = run_metric(tmp_path, gt, make_samples(gt, rng, noise=4.0), COCO_PERSON_SIGMAS)
    stats = direct_cocoeval(tmp_path)  # COCOeval's own sigmas
    assert [out[f'coco/keypoints_{i}'] for i in KP_ITEMS] == [round(s, 3) for s in stats[:5]]


def test_all_keypoint_items(tmp_path):
    rng = np.random.default_rng(5)
    gt = make_gt(rng, 4)
    ann_file = tmp_path / 'person_keypoints.json'
    ann_file.write_text(json.dumps(gt))
    items = ['mAP', 'AR', 'AR_50', 'AR_75', 'AR_m', 'AR_l']
    metric = CocoMetric(ann_file=str(ann_file), metric='keypoints', metric_items=items,
                        outfile_prefix=str(tmp_path / 'results'))
    metric.dataset_meta = dict(classes=('person', ), sigmas=SIGMAS)
    samples = make_samples(gt, rng, noise=3.0)
    metric.process({}, samples)
    out = metric.evaluate(len(samples))
    stats = direct_cocoeval(tmp_path, SIGMAS)
    assert [out[f'coco/keypoints_{i}'] for i in items] == [round(s, 3) for s in
                                                           stats[[0, 5, 6, 7, 8, 9]]]


def test_keypoint_errors(tmp_path):
    rng = np.random.default_rng(6)
    gt = make_gt(rng, 4)
    samples = make_samples(gt, rng, noise=1.0)
    with pytest.raises(ValueError, match='needs ann_file'):
        CocoMetric(metric='keypoints')
    with pytest.raises(KeyError, match=r"dataset_meta\['sigmas'\]"):
        run_metric(tmp_path, gt, samples, None)
    with pytest.raises(ValueError, match='4 keypoints but the data set has 2 sigmas'):
        run_metric(tmp_path, gt, samples, [0.1, 0.1])
    with pytest.raises(KeyError, match='mAP_s'):
        CocoMetric(ann_file=str(tmp_path / 'person_keypoints.json'), metric='keypoints',
                   metric_items=['mAP_s'])
    del samples[0]['pred_instances']['keypoint_scores']
    with pytest.raises(KeyError, match='no keypoint_scores'):
        run_metric(tmp_path, gt, samples, SIGMAS)
