"""Pure functions behind ``CocoMetric(metric='proposal_fast')``: proposal recall without COCOeval.

Recall of a data set at ``n`` proposals and IoU threshold ``t`` (mmdetection 3.x's
``eval_recalls``): in every image the ground-truth boxes are matched one to one with the first
``n`` proposals, greedily, the pair with the highest IoU first; a ground-truth box is recalled
when its matched proposal overlaps it with IoU >= ``t``. Recall is the number of recalled boxes
over the number of ground-truth boxes of all images. Average recall (``AR@n``) is its mean over
the thresholds.

Equal to mmdet's numbers except at edges a port will hardly meet: IoUs are float64 (mmdet:
float32, which can flip a box whose IoU equals a threshold); (N, 5) proposals tied in score keep
their order; proposals are cut at ``max(proposal_nums)`` (mmdet: the last); a box without a
match never counts, also at threshold 0 (mmdet counts those of images without proposals there).
"""
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log
from terminaltables import AsciiTable

__all__ = ['box_iou', 'matched_ious', 'eval_recalls', 'recall_table']

Thresholds = Union[float, Sequence[float], np.ndarray]


def _as_1d(values: Union[float, int, Sequence, np.ndarray], name: str,
           dtype: type) -> np.ndarray:
    """A non-empty 1-D array from a number or a sequence; ValueError names ``name``."""
    arr = np.atleast_1d(np.asarray(values, dtype=dtype))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f'eval_recalls: {name} must be a number or a non-empty 1-D sequence, '
                         f'got {values!r}')
    return arr


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray, legacy: bool = False) -> np.ndarray:
    """IoU of every pair of ``x1, y1, x2, y2`` boxes.

    Args:
        boxes1 (np.ndarray): (N, 4) boxes.
        boxes2 (np.ndarray): (M, 4) boxes.
        legacy (bool): mmdet 1.x pixel convention, width ``x2 - x1 + 1``. Defaults to False.

    Returns:
        np.ndarray: (N, M) float64 IoUs (0 for boxes without area).
    """
    b1 = np.asarray(boxes1, dtype=np.float64).reshape(-1, 4)
    b2 = np.asarray(boxes2, dtype=np.float64).reshape(-1, 4)
    extra = 1.0 if legacy else 0.0
    area1 = (b1[:, 2] - b1[:, 0] + extra) * (b1[:, 3] - b1[:, 1] + extra)
    area2 = (b2[:, 2] - b2[:, 0] + extra) * (b2[:, 3] - b2[:, 1] + extra)
    wh = (np.minimum(b1[:, None, 2:], b2[None, :, 2:]) -
          np.maximum(b1[:, None, :2], b2[None, :, :2]) + extra).clip(min=0)
    inter = wh[..., 0] * wh[..., 1]
    # The same floor on the union as mmdet (eps 1e-6): degenerate boxes give 0, not NaN.
    return inter / np.maximum(area1[:, None] + area2[None, :] - inter, 1e-6)


def matched_ious(ious: np.ndarray, proposal_nums: Sequence[int]) -> np.ndarray:
    """IoU of each ground-truth box with the proposal it is greedily matched to.

    For every ``n`` in ``proposal_nums``, only the first ``n`` proposals take part. Matching
    repeats: take the (gt, proposal) pair with the highest IoU among the unmatched ones (the
    first in row-major order on ties, as mmdet), match them, remove both. Each match depends
    on the ones before, so this is one array argmax per matched box, not one array operation.

    Args:
        ious (np.ndarray): (G, N) IoUs of G ground-truth boxes and N proposals, proposals in
            rank order (best first).
        proposal_nums (Sequence[int]): P proposal counts.

    Returns:
        np.ndarray: (P, G) float64, the matched IoU of each ground-truth box, -1 where no
        proposal was left for it.
    """
    ious = np.asarray(ious, dtype=np.float64)
    if ious.ndim != 2:
        raise ValueError(f'matched_ious: ious must be (G, N), got shape {ious.shape}')
    nums = _as_1d(proposal_nums, 'proposal_nums', np.int64)
    out = np.full((nums.size, ious.shape[0]), -1.0)
    for row, num in enumerate(nums):
        work = ious[:, :num].copy()  # removed rows / columns become -1
        if work.size == 0:
            continue
        for _ in range(min(work.shape)):
            gt, prop = np.unravel_index(work.argmax(), work.shape)
            if work[gt, prop] < 0:  # nothing left to match
                break
            out[row, gt] = work[gt, prop]
            work[gt, :] = -1.0
            work[:, prop] = -1.0
    return out


def eval_recalls(gts: Sequence[Optional[np.ndarray]],
                 proposals: Sequence[np.ndarray],
                 proposal_nums: Union[int, Sequence[int]] = (100, 300, 1000),
                 iou_thrs: Optional[Thresholds] = 0.5,
                 logger: Optional[object] = None,
                 use_legacy_coordinate: bool = False) -> np.ndarray:
    """Recall of the proposals of a data set at each proposal count and IoU threshold.

    Args:
        gts (Sequence[np.ndarray | None]): Per image, (G_i, 4) ground-truth boxes x1y1x2y2
            (None or (0, 4) for none). Crowd / ignored boxes must already be left out.
        proposals (Sequence[np.ndarray]): Per image, (N_i, 4) proposals in rank order, or
            (N_i, 5) with a score column, then ranked by descending score.
        proposal_nums (int | Sequence[int]): P proposal counts. Defaults to (100, 300, 1000).
        iou_thrs (float | Sequence[float] | None): T IoU thresholds; None means 0.5.
            Defaults to 0.5.
        logger (optional): Where :func:`recall_table` is logged (``print_log``'s argument);
            None prints it, as mmdet's ``eval_recalls`` does.
        use_legacy_coordinate (bool): Widths ``x2 - x1 + 1`` (mmdet 1.x). Defaults to False.

    Returns:
        np.ndarray: (P, T) float64 recalls; NaN when the data set has no ground-truth box.
    """
    if len(gts) != len(proposals):
        raise ValueError(f'eval_recalls: {len(gts)} images of ground truth but '
                         f'{len(proposals)} of proposals')
    nums = _as_1d(proposal_nums, 'proposal_nums', np.int64)
    thrs = _as_1d(0.5 if iou_thrs is None else iou_thrs, 'iou_thrs', np.float64)
    matched = []
    for gt, props in zip(gts, proposals):
        gt = np.zeros((0, 4)) if gt is None else np.asarray(gt, np.float64).reshape(-1, 4)
        props = np.asarray(props, np.float64)
        props = props.reshape(-1, props.shape[-1] if props.ndim == 2 else 4)
        if props.shape[1] == 5:
            props = props[np.argsort(-props[:, 4], kind='stable')]
        props = props[:int(nums.max()), :4]
        matched.append(matched_ious(box_iou(gt, props, use_legacy_coordinate), nums))
    all_matched = np.concatenate(matched, axis=1) if matched else np.zeros((nums.size, 0))
    num_gts = all_matched.shape[1]
    if num_gts == 0:
        recalls = np.full((nums.size, thrs.size), np.nan)
    else:
        recalls = (all_matched[:, :, None] >= thrs[None, None, :]).sum(axis=1) / num_gts
    print_log('\n' + recall_table(recalls, nums, thrs), logger=logger)
    return recalls


def recall_table(recalls: np.ndarray, proposal_nums: Sequence[int],
                 iou_thrs: Thresholds) -> str:
    """The recalls as an AsciiTable: one row per proposal count, one column per threshold.

    Args:
        recalls (np.ndarray): (P, T) recalls from :func:`eval_recalls`.
        proposal_nums (Sequence[int]): The P proposal counts (row headers).
        iou_thrs (float | Sequence[float]): The T thresholds (column headers).

    Returns:
        str: The table, values with 3 decimals.
    """
    thrs = np.atleast_1d(np.asarray(iou_thrs, dtype=np.float64))
    rows = [['', *(f'{t:.2f}' for t in thrs)]]
    for num, row in zip(np.atleast_1d(proposal_nums), np.asarray(recalls).reshape(-1, thrs.size)):
        rows.append([int(num), *(f'{v:.3f}' for v in row)])
    return AsciiTable(rows).table
