"""COCO keypoint results and their OKS evaluation with pycocotools (``iouType='keypoints'``)."""
from typing import Dict, List, Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

# COCOeval.summarize() for keypoints: AP and AR at OKS .5:.95, .5, .75, medium, large (20 dets).
KEYPOINT_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_m', 'mAP_l', 'AR', 'AR_50', 'AR_75', 'AR_m',
                  'AR_l')
KEYPOINT_ITEM_INDEX = {name: i for i, name in enumerate(KEYPOINT_ITEMS)}


def keypoint_results(preds: Sequence[dict], cat_ids: Sequence[int]) -> List[dict]:
    """COCO keypoint results: one entry per predicted instance.

    Args:
        preds: Per image ``img_id``, ``labels`` (N,), ``scores`` (N,), ``keypoints``
            (N, K, 2) x, y in original-image pixels and ``keypoint_scores`` (N, K).
        cat_ids: Category id of each label.

    Returns:
        Entries with ``image_id``, ``category_id``, ``keypoints`` (3K floats: x, y and the
        keypoint's score in the place of v, as Detectron writes them; COCOeval reads only
        x and y) and ``score`` (the instance's). No ``bbox``: pycocotools then takes the
        area that decides medium / large from the keypoints' extent, as for Detectron's and
        maskrcnn-benchmark's results.

    Raises:
        ValueError: Keypoints are not (N, K, 2) with (N, K) scores.
    """
    out = []
    for p in preds:
        kps, kp_scores = p['keypoints'], p['keypoint_scores']
        num = len(p['labels'])
        if kps.ndim != 3 or kps.shape[0] != num or kps.shape[2] != 2 or (
                kp_scores.shape != kps.shape[:2]):
            raise ValueError(f'CocoMetric: img_id {p["img_id"]} has {num} instances with '
                             f'keypoints {kps.shape} and keypoint_scores {kp_scores.shape}; '
                             f'expected ({num}, K, 2) and ({num}, K)')
        # (N, 3K) even for N = 0 (an image without detections)
        triplets = np.concatenate([kps, kp_scores[..., None]], axis=2).reshape(
            num, 3 * kps.shape[1])
        for i, label in enumerate(p['labels'].tolist()):
            out.append(dict(image_id=p['img_id'], category_id=cat_ids[label],
                            keypoints=[float(v) for v in triplets[i]],
                            score=float(p['scores'][i])))
    return out


def keypoint_cat_ids(api: COCO, cat_ids: Sequence[int]) -> List[int]:
    """The categories among ``cat_ids`` whose ground truth has keypoints (a ``keypoints``
    name list), in the order given."""
    return [c for c in cat_ids if api.cats[c].get('keypoints')]


def evaluate_keypoints(api: COCO, dets: List[dict], sigmas: Sequence[float],
                       cat_ids: Sequence[int], iou_thrs: np.ndarray) -> COCOeval:
    """Run COCOeval's OKS evaluation (evaluate and accumulate, not summarize).

    Args:
        api: The ground truth.
        dets: :func:`keypoint_results` entries (not empty; copied before pycocotools edits
            them).
        sigmas: The K per-keypoint OKS constants of the data set.
        cat_ids: Categories to evaluate (those with keypoints).
        iou_thrs: (T,) OKS thresholds.

    Returns:
        The COCOeval, ready for ``summarize()``; ``maxDets`` stays COCO's 20.

    Raises:
        ValueError: The results' K differs from ``len(sigmas)``, or a ground-truth
            annotation of these categories lacks ``keypoints`` / ``num_keypoints``.
    """
    num = len(dets[0]['keypoints']) // 3
    if num != len(sigmas):
        raise ValueError(f'CocoMetric: predictions have {num} keypoints but the data set has '
                         f'{len(sigmas)} sigmas')
    for ann in api.loadAnns(api.getAnnIds(catIds=list(cat_ids))):
        if 'keypoints' not in ann or 'num_keypoints' not in ann:
            raise ValueError(f'CocoMetric: annotation id {ann.get("id")} of image id '
                             f'{ann.get("image_id")} has no keypoints / num_keypoints; keypoint '
                             f'evaluation needs a person_keypoints-style ground truth')
    coco_eval = COCOeval(api, api.loadRes([dict(d) for d in dets]), 'keypoints')
    params = coco_eval.params
    params.catIds, params.imgIds = list(cat_ids), api.getImgIds()
    params.iouThrs = iou_thrs
    params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
    coco_eval.evaluate()
    coco_eval.accumulate()
    return coco_eval


def keypoint_stats(coco_eval: COCOeval, items: Sequence[str]) -> Dict[str, float]:
    """``keypoints_{item}`` rounded to 3 decimals from a summarized COCOeval."""
    return {f'keypoints_{item}': round(float(coco_eval.stats[KEYPOINT_ITEM_INDEX[item]]), 3)
            for item in items}
