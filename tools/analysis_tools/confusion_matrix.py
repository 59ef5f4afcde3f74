"""Confusion matrix of saved predictions (``tools/test.py --out DIR``) against the labels.

    python tools/analysis_tools/confusion_matrix.py CONFIG PRED_DIR SAVE_DIR [--split test]
        [--score-thr 0.3] [--tp-iou-thr 0.5] [--cfg-options ...]

Semantic segmentation: prediction ``PRED_DIR/<stem>.png`` (class indices, as ``--out`` writes
them; ``<stem>`` is the image name without its suffix and Cityscapes' ``_leftImg8bit``) is
compared with the label map of every image of the config's test (or val) set; counts are pixels.

Detection (a COCO-format data set): ``PRED_DIR/results.bbox.json`` (or PRED_DIR itself when it
is a JSON file), the COCO results ``--out`` writes, is compared with the instances of every
image; counts are instances, with a "background" row (false positives) and column (missed
instances); detections below ``--score-thr`` are left out and a match needs IoU >=
``--tp-iou-thr`` (see :func:`segdet.evaluation.metrics.instance_confusion`).

Writes ``confusion_matrix.png`` (rows: ground truth, normalised to 100 %) and
``confusion_matrix.json`` (raw counts).
"""
import argparse
import json
import os
import sys
from typing import Sequence

sys.path.insert(0, os.getcwd())

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from segdet.datasets import build_split_dataset  # noqa: E402
from segdet.datasets.transforms import LoadAnnotations  # noqa: E402
from segdet.evaluation.metrics import instance_confusion, prediction_png_name  # noqa: E402
from segdet.utils import load_config  # noqa: E402


def confusion(gt: np.ndarray, pred: np.ndarray, num_classes: int,
              ignore_index: int = 255) -> np.ndarray:
    """(num_classes, num_classes) pixel counts: row = ground truth, column = prediction.

    Pixels with ``ignore_index`` in ``gt`` are left out; a predicted value outside
    0..num_classes-1 raises ``ValueError``.
    """
    valid = gt != ignore_index
    g, p = gt[valid].astype(np.int64), pred[valid].astype(np.int64)
    if p.size and (p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f'prediction values {np.unique(p[(p < 0) | (p >= num_classes)])} '
                         f'are not classes 0..{num_classes - 1}')
    return np.bincount(g * num_classes + p, minlength=num_classes**2).reshape(
        num_classes, num_classes)


def plot(matrix: np.ndarray, classes: Sequence[str], path: str,
         title: str = 'confusion matrix\n(% of ground-truth pixels)') -> None:
    """Row-normalised matrix (percent of each ground-truth class) as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    with np.errstate(invalid='ignore', divide='ignore'):
        percent = 100 * matrix / matrix.sum(axis=1, keepdims=True)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * n + 2), max(5, 0.5 * n + 2)))
    ax.imshow(np.nan_to_num(percent), cmap='Blues', vmin=0, vmax=100)
    ax.set_xticks(range(n), classes, rotation=45, ha='right')
    ax.set_yticks(range(n), classes)
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if not np.isnan(percent[i, j]):
                    ax.text(j, i, f'{percent[i, j]:.0f}', ha='center', va='center', fontsize=8,
                            color='white' if percent[i, j] > 50 else 'black')
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def semantic_matrix(dataset, pred_dir: str) -> np.ndarray:
    """Pixel counts of the prediction PNGs in ``pred_dir`` over every image of ``dataset``."""
    if not os.path.isdir(pred_dir):
        raise FileNotFoundError(f'prediction directory not found: {pred_dir}')
    classes = list(dataset.metainfo['classes'])
    load = LoadAnnotations()
    matrix = np.zeros((len(classes), len(classes)), np.int64)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        pred_path = os.path.join(pred_dir, prediction_png_name(info['img_path']))
        pred = cv2.imread(pred_path, cv2.IMREAD_UNCHANGED)
        if pred is None:
            raise FileNotFoundError(f'no readable prediction {pred_path} for image '
                                    f'{info["img_path"]}')
        gt = load(dict(info))['gt_seg_map']
        if pred.shape != gt.shape:
            raise ValueError(f'prediction {pred_path} is {pred.shape}, its label map '
                             f'{info["seg_map_path"]} is {gt.shape}')
        matrix += confusion(gt, pred, len(classes), dataset.ignore_index)
    return matrix


def load_coco_results(path: str, cat2label: dict, img_ids: set) -> dict:
    """COCO results JSON -> {image id: (boxes (D, 4) x1y1x2y2, labels (D,), scores (D,))}.

    Raises ``ValueError`` naming the file and entry for an unknown category or image id.
    """
    try:
        with open(path) as f:
            results = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path} is not JSON: {err}') from err
    if not isinstance(results, list):
        raise ValueError(f'{path}: expected a list of COCO results, got {type(results).__name__}')
    per_image: dict = {}
    for k, det in enumerate(results):
        missing = [key for key in ('image_id', 'category_id', 'bbox', 'score') if key not in det]
        if missing:
            raise ValueError(f'{path}: result {k} has no {missing}')
        if det['category_id'] not in cat2label:
            raise ValueError(f'{path}: result {k} has category_id {det["category_id"]}, not '
                             f'one of the data set\'s {sorted(cat2label)}')
        if det['image_id'] not in img_ids:
            raise ValueError(f'{path}: result {k} has image_id {det["image_id"]}, which is '
                             f'not an image of the data set')
        x, y, w, h = det['bbox']
        per_image.setdefault(det['image_id'], []).append(
            (x, y, x + w, y + h, cat2label[det['category_id']], det['score']))
    return {img_id: (np.array([r[:4] for r in rows], np.float64),
                     np.array([r[4] for r in rows], np.int64),
                     np.array([r[5] for r in rows], np.float64))
            for img_id, rows in per_image.items()}


def instance_matrix(dataset, pred: str, score_thr: float, iou_thr: float) -> np.ndarray:
    """Instance counts, (C+1, C+1), of the COCO results ``pred`` (file or dir) over ``dataset``."""
    path = os.path.join(pred, 'results.bbox.json') if os.path.isdir(pred) else pred
    if not os.path.isfile(path):
        raise FileNotFoundError(f'no COCO results file {path} (write it with tools/test.py '
                                f'CONFIG CKPT --out {pred})')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    dets = load_coco_results(path, dataset.cat2label, {info['img_id'] for info in infos})
    num_classes = len(dataset.metainfo['classes'])
    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    empty = (np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0))
    for info in infos:
        instances = info['instances']
        gt = [inst for inst in instances if not inst['ignore_flag']]
        ignored = [inst['bbox'] for inst in instances if inst['ignore_flag']]
        boxes, labels, scores = dets.get(info['img_id'], empty)
        matrix += instance_confusion(
            np.array([inst['bbox'] for inst in gt], np.float64).reshape(-1, 4),
            np.array([inst['bbox_label'] for inst in gt], np.int64), boxes, labels, scores,
            num_classes, score_thr, iou_thr, np.array(ignored, np.float64).reshape(-1, 4))
    return matrix


def main(argv=None) -> np.ndarray:
    parser = argparse.ArgumentParser(description='Confusion matrix of saved predictions')
    parser.add_argument('config')
    parser.add_argument('pred_dir', help='tools/test.py --out directory (detection: or the '
                        'results.bbox.json file)')
    parser.add_argument('save_dir')
    parser.add_argument('--split', choices=['test', 'val'], default='test')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='detection: leave out detections scoring below it')
    parser.add_argument('--tp-iou-thr', type=float, default=0.5,
                        help='detection: IoU a detection needs to match an instance')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if not os.path.exists(args.pred_dir):
        raise FileNotFoundError(f'prediction directory not found: {args.pred_dir}')
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_split_dataset(cfg, args.split)
    classes = list(dataset.metainfo['classes'])
    if hasattr(dataset, 'cat2label'):  # COCO-format instances
        matrix = instance_matrix(dataset, args.pred_dir, args.score_thr, args.tp_iou_thr)
        classes.append('background')
        title = (f'confusion matrix (% of each row)\nscore >= {args.score_thr:g}, '
                 f'IoU >= {args.tp_iou_thr:g}; last row: false positives')
    else:
        matrix = semantic_matrix(dataset, args.pred_dir)
        title = 'confusion matrix\n(% of ground-truth pixels)'
    os.makedirs(args.save_dir, exist_ok=True)
    plot(matrix, classes, os.path.join(args.save_dir, 'confusion_matrix.png'), title)
    with open(os.path.join(args.save_dir, 'confusion_matrix.json'), 'w') as f:
        json.dump(dict(classes=classes, counts=matrix.tolist()), f)
    print(f'wrote {args.save_dir}/confusion_matrix.png and .json ({len(dataset)} images)')
    return matrix


if __name__ == '__main__':
    main()
