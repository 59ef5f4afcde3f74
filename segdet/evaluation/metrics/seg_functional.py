"""Pure functions behind :class:`IoUMetric`: per-image pixel counts and the metrics from them.

The counts of every image are summed over the data set first and the metrics are computed once
from the totals (a data-set-level IoU, not a mean of per-image IoUs), as mmsegmentation does.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch

__all__ = [
    'SEG_METRICS', 'check_seg_metrics', 'intersect_and_union', 'total_area_to_metrics',
    'f_beta_score'
]

# Names accepted in ``iou_metrics`` and the class-wise metrics each of them adds, in the order
# (and with the names) mmsegmentation reports them. The summary key is ``'m' + name``.
SEG_METRICS: Dict[str, Tuple[str, ...]] = {
    'mIoU': ('IoU', 'Acc'),
    'mDice': ('Dice', 'Acc'),
    'mFscore': ('Fscore', 'Precision', 'Recall'),
}

ArrayLike = Union[torch.Tensor, np.ndarray]


def _class_histogram(values: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Count the pixels of each class; values outside ``[0, num_classes)`` are not counted."""
    in_range = (values >= 0) & (values < num_classes)
    return torch.bincount(values[in_range], minlength=num_classes)


def intersect_and_union(pred: torch.Tensor, label: torch.Tensor, num_classes: int,
                        ignore_index: int = 255
                        ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-class pixel counts of one image.

    Pixels whose ground truth is ``ignore_index`` are dropped before counting. A ground-truth
    value outside ``[0, num_classes)`` (other than ``ignore_index``) is not counted as any class,
    but the prediction at that pixel still counts in ``area_pred`` (as mmsegmentation does).

    Args:
        pred (torch.Tensor): (H, W) integer predicted class indices.
        label (torch.Tensor): (H, W) integer ground-truth class indices, same shape as ``pred``.
        num_classes (int): Number of classes C.
        ignore_index (int): Ground-truth value of unlabeled pixels. Defaults to 255.

    Returns:
        tuple[torch.Tensor]: Four (C,) int64 CPU tensors: ``area_intersect`` (pixels where
        prediction and ground truth are both the class), ``area_union`` (pixels where either is),
        ``area_pred`` (pixels predicted as the class) and ``area_label`` (pixels labeled as it).
    """
    if pred.shape != label.shape:
        raise ValueError(f'intersect_and_union: prediction shape {tuple(pred.shape)} differs '
                         f'from ground-truth shape {tuple(label.shape)}')
    if pred.is_floating_point() or label.is_floating_point():
        raise TypeError('intersect_and_union expects integer class maps, got '
                        f'pred {pred.dtype} and label {label.dtype}')
    label = label.to(device=pred.device, dtype=torch.long)
    pred = pred.long()
    valid = label != ignore_index
    pred = pred[valid]
    label = label[valid]

    area_intersect = _class_histogram(pred[pred == label], num_classes)
    area_pred = _class_histogram(pred, num_classes)
    area_label = _class_histogram(label, num_classes)
    area_union = area_pred + area_label - area_intersect
    return area_intersect.cpu(), area_union.cpu(), area_pred.cpu(), area_label.cpu()


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio; 0 / 0 is NaN (the class does not occur in that denominator)."""
    with np.errstate(divide='ignore', invalid='ignore'):
        return numerator / denominator


def f_beta_score(area_intersect: np.ndarray, area_pred: np.ndarray, area_label: np.ndarray,
                 beta: float = 1.0) -> np.ndarray:
    """F-beta score per class from pixel counts.

    ``(1 + b^2) P R / (b^2 P + R)`` with ``P = I / pred`` and ``R = I / label`` simplifies to
    ``(1 + b^2) I / (b^2 label + pred)``. The count form is used because it is defined whenever
    the class occurs in the prediction or the ground truth: a class that occurs but is never
    predicted correctly scores 0 instead of 0 / 0, so it lowers the mean rather than dropping
    out of it, and with ``beta=1`` the score equals Dice.

    Args:
        area_intersect (np.ndarray): (C,) true-positive pixel counts.
        area_pred (np.ndarray): (C,) predicted pixel counts.
        area_label (np.ndarray): (C,) ground-truth pixel counts.
        beta (float): Weight of recall relative to precision. Defaults to 1.

    Returns:
        np.ndarray: (C,) float64 scores in [0, 1]; NaN for classes absent from both the prediction
        and the ground truth.
    """
    b2 = float(beta) ** 2
    return _divide((1.0 + b2) * area_intersect, b2 * area_label + area_pred)


def _to_float_array(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def check_seg_metrics(metrics: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """Validate ``iou_metrics`` names.

    Args:
        metrics (str | Sequence[str]): One name or several of :data:`SEG_METRICS`.

    Returns:
        tuple[str]: The names as a tuple.
    """
    names = (metrics, ) if isinstance(metrics, str) else tuple(metrics)
    unknown = [m for m in names if m not in SEG_METRICS]
    if unknown:
        raise ValueError(f'iou_metrics {unknown} not supported; valid names are '
                         f'{list(SEG_METRICS)}')
    return names


def total_area_to_metrics(total_area_intersect: ArrayLike,
                          total_area_union: ArrayLike,
                          total_area_pred_label: ArrayLike,
                          total_area_label: ArrayLike,
                          metrics: Union[str, Sequence[str]] = ('mIoU', ),
                          nan_to_num: Optional[float] = None,
                          beta: float = 1.0) -> Dict[str, np.ndarray]:
    """Overall accuracy and class-wise metrics from data-set-wide pixel counts.

    Formulas (I = intersection, U = union, pred / label = predicted / ground-truth area):
    ``aAcc = sum(I) / sum(label)``, ``IoU = I / U``, ``Acc = Recall = I / label``,
    ``Dice = 2 I / (pred + label)``, ``Precision = I / pred`` and ``Fscore`` from
    :func:`f_beta_score`. A class-wise value is NaN where its denominator is 0: IoU, Dice and
    Fscore for a class absent from both prediction and ground truth, Acc/Recall for a class
    absent from the ground truth, Precision for a class never predicted.

    Args:
        total_area_intersect (torch.Tensor | np.ndarray): (C,) summed intersection counts.
        total_area_union (torch.Tensor | np.ndarray): (C,) summed union counts.
        total_area_pred_label (torch.Tensor | np.ndarray): (C,) summed predicted counts.
        total_area_label (torch.Tensor | np.ndarray): (C,) summed ground-truth counts.
        metrics (str | Sequence[str]): Any of ``'mIoU'``, ``'mDice'``, ``'mFscore'``.
        nan_to_num (float, optional): If given, NaN values (also a NaN ``aAcc``) are replaced
            by it. Defaults to None.
        beta (float): Beta of the F-score. Defaults to 1.

    Returns:
        dict[str, np.ndarray]: ``'aAcc'`` as a 0-d float64 array, then for each requested metric
        its class-wise entries (see :data:`SEG_METRICS`) as (C,) float64 arrays in [0, 1],
        in the order of ``metrics``.
    """
    names = check_seg_metrics(metrics)
    inter = _to_float_array(total_area_intersect)
    union = _to_float_array(total_area_union)
    pred = _to_float_array(total_area_pred_label)
    label = _to_float_array(total_area_label)

    class_wise = {
        'IoU': lambda: _divide(inter, union),
        'Acc': lambda: _divide(inter, label),
        'Dice': lambda: _divide(2.0 * inter, pred + label),
        'Fscore': lambda: f_beta_score(inter, pred, label, beta),
        'Precision': lambda: _divide(inter, pred),
        'Recall': lambda: _divide(inter, label),
    }
    results: Dict[str, np.ndarray] = {'aAcc': np.asarray(_divide(inter.sum(), label.sum()))}
    for name in names:
        for key in SEG_METRICS[name]:
            if key not in results:
                results[key] = class_wise[key]()
    if nan_to_num is not None:
        results = {k: np.nan_to_num(v, nan=nan_to_num) for k, v in results.items()}
    return results
