"""Pure functions that merge the predictions of the test-time augmented views of one image.

Every view's prediction is already at the original image size and un-flipped (segmentors'
``postprocess_result`` and detectors' ``add_pred_to_datasample`` do that), so merging needs no
geometry: the segmentation views' probabilities are averaged and the detection views'
instances are pooled and re-NMSed.
"""
from typing import Any, Optional, Sequence

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.ops import batched_nms
from segdet.structures import DataSample

#: Ground-truth fields a merged sample carries over from its reference view.
GT_FIELDS = ('gt_sem_seg', 'gt_instances', 'ignored_instances')


def _same(a: Any, b: Any) -> bool:
    """Whether two metainfo values are equal (arrays and tensors compared element-wise)."""
    if isinstance(a, (np.ndarray, Tensor)) or isinstance(b, (np.ndarray, Tensor)):
        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        except (TypeError, ValueError):
            return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. lists holding arrays
        return False


def shared_metainfo(views: Sequence[DataSample]) -> dict:
    """The metainfo every view agrees on (``img_path``, ``ori_shape``, ``img_id``, ...).

    Keys that describe one view (``img_shape``, ``scale_factor``, ``flip``, padding, ...)
    differ between the views and are left out: they do not describe the merged prediction.

    Args:
        views: The samples of one image's views.

    Returns:
        A new dict with the keys whose values are equal in every view.
    """
    first = views[0].metainfo
    return {key: value for key, value in first.items()
            if all(key in v.metainfo and _same(v.metainfo[key], value) for v in views[1:])}


def reference_view(views: Sequence[DataSample]) -> DataSample:
    """The view whose ground truth the merged sample keeps: the first view that is not
    flipped, else the first view (a pipeline that loads annotations before its flip leaves
    flipped ground truth in the flipped views)."""
    return next((v for v in views if not v.metainfo.get('flip', False)), views[0])


def merged_sample(views: Sequence[DataSample]) -> DataSample:
    """A new sample for the merged prediction: the shared metainfo and the ground truth of
    :func:`reference_view` (the views are not modified)."""
    out = DataSample(metainfo=shared_metainfo(views))
    ref = reference_view(views)
    for key in GT_FIELDS:
        if key in ref:
            setattr(out, key, ref.get(key))
    return out


def mean_probabilities(seg_logits: Sequence[Tensor], where: Optional[str] = None) -> Tensor:
    """Mean class probabilities over the views of one image, as mmseg's ``SegTTAModel``.

    Args:
        seg_logits: One (C, H, W) tensor per view, at the original image size and un-flipped.
            With C > 1 they are logits and each view's softmax over C is averaged; with
            C == 1 they are what a one-channel segmentor stores, sigmoid probabilities, and
            are averaged as they are.
        where: The image the views show (for error messages).

    Returns:
        (C, H, W) float mean probabilities.

    Raises:
        ValueError: no views, or views of different shapes.
    """
    if not seg_logits:
        raise ValueError(f'no test-time augmentation views to merge for {where}')
    shapes = {tuple(t.shape) for t in seg_logits}
    if len(shapes) != 1:
        raise ValueError(f'test-time augmentation views of {where} have seg_logits of '
                         f'different shapes {sorted(shapes)}: each view must be predicted at '
                         'the original image size')
    stacked = torch.stack(list(seg_logits)).float()
    probs = stacked.softmax(dim=1) if stacked.shape[1] > 1 else stacked
    return probs.mean(dim=0)


def merge_instances(instances: Sequence[InstanceData], iou_threshold: float,
                    max_per_img: int, class_agnostic: bool = False,
                    where: Optional[str] = None) -> InstanceData:
    """Pool the detections of all views and keep the NMS survivors, as mmdet's ``DetTTAModel``.

    Args:
        instances: One ``InstanceData`` per view with ``bboxes`` (N_i, 4) xyxy at the original
            image size, un-flipped, ``scores`` (N_i,), ``labels`` (N_i,) and optionally
            ``masks`` (N_i, H, W) (every view the same fields).
        iou_threshold: NMS IoU threshold.
        max_per_img: At most this many detections are kept.
        class_agnostic: NMS across classes instead of within each class.
        where: The image the views show (for error messages).

    Returns:
        A new ``InstanceData`` with the same fields, the kept detections in decreasing score
        order; each keeps its own view's box, score, label and mask.

    Raises:
        ValueError: no views, or views whose predictions hold different fields.
    """
    if not instances:
        raise ValueError(f'no test-time augmentation views to merge for {where}')
    fields = [sorted(inst.keys()) for inst in instances]
    missing = [k for k in ('bboxes', 'scores', 'labels') if k not in fields[0]]
    if missing or any(f != fields[0] for f in fields):
        raise ValueError(f'test-time augmentation views of {where} must all predict bboxes, '
                         f'scores and labels (and the same other fields); got {fields}')
    pooled = InstanceData.cat(list(instances))
    groups = torch.zeros_like(pooled.labels) if class_agnostic else pooled.labels
    keep = batched_nms(pooled.bboxes.float(), pooled.scores.float(), groups, iou_threshold)
    return pooled[keep[:max_per_img]]
