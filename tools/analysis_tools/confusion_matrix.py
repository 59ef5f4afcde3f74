"""Confusion matrix of saved predictions (``tools/test.py --out DIR``) against the labels.

    python tools/analysis_tools/confusion_matrix.py CONFIG PRED_DIR SAVE_DIR [--split test]
        [--cfg-options ...]

Prediction ``PRED_DIR/<stem>.png`` (class indices, as ``--out`` writes them; ``<stem>`` is the
image name without its suffix and Cityscapes' ``_leftImg8bit``) is compared with the label map
of every image of the config's test (or val) set. Writes ``confusion_matrix.png`` (rows: ground
truth, normalised to 100 %) and ``confusion_matrix.json`` (raw pixel counts).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.getcwd())

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import segdet.datasets  # noqa: F401,E402
from segdet.datasets.transforms import LoadAnnotations  # noqa: E402
from segdet.evaluation.metrics import prediction_png_name  # noqa: E402
from segdet.registry import DATASETS  # noqa: E402
from segdet.utils import load_config, registry_hints  # noqa: E402


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


def plot(matrix: np.ndarray, classes, path: str) -> None:
    """Row-normalised matrix (percent of each ground-truth class) as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    with np.errstate(invalid='ignore', divide='ignore'):
        percent = 100 * matrix / matrix.sum(axis=1, keepdims=True)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(max(4, 0.5 * n + 2), max(4, 0.5 * n + 2)))
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
    ax.set_title('confusion matrix (% of ground-truth pixels)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> np.ndarray:
    parser = argparse.ArgumentParser(description='Confusion matrix of saved predictions')
    parser.add_argument('config')
    parser.add_argument('pred_dir')
    parser.add_argument('save_dir')
    parser.add_argument('--split', choices=['test', 'val'], default='test')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if not os.path.isdir(args.pred_dir):
        raise FileNotFoundError(f'prediction directory not found: {args.pred_dir}')
    cfg = load_config(args.config, args.cfg_options)
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    classes = list(dataset.metainfo['classes'])
    load = LoadAnnotations()
    matrix = np.zeros((len(classes), len(classes)), np.int64)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        pred_path = os.path.join(args.pred_dir, prediction_png_name(info['img_path']))
        pred = cv2.imread(pred_path, cv2.IMREAD_UNCHANGED)
        if pred is None:
            raise FileNotFoundError(f'no readable prediction {pred_path} for image '
                                    f'{info["img_path"]}')
        gt = load(dict(info))['gt_seg_map']
        if pred.shape != gt.shape:
            raise ValueError(f'prediction {pred_path} is {pred.shape}, its label map '
                             f'{info["seg_map_path"]} is {gt.shape}')
        matrix += confusion(gt, pred, len(classes), dataset.ignore_index)
    os.makedirs(args.save_dir, exist_ok=True)
    plot(matrix, classes, os.path.join(args.save_dir, 'confusion_matrix.png'))
    with open(os.path.join(args.save_dir, 'confusion_matrix.json'), 'w') as f:
        json.dump(dict(classes=classes, counts=matrix.tolist()), f)
    print(f'wrote {args.save_dir}/confusion_matrix.png and .json ({len(dataset)} images)')
    return matrix


if __name__ == '__main__':
    main()
