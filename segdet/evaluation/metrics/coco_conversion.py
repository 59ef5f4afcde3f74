"""Pure conversions behind :class:`CocoMetric`: predictions and ground truth to COCO dicts.

Boxes are ``x1, y1, x2, y2`` in original-image pixels on the segdet side and ``[x, y, w, h]``
on the COCO side; masks become compressed RLE with ``counts`` as str (JSON-ready).
"""
from typing import Any, List, Sequence, Union

import numpy as np
import pycocotools.mask as mask_util
import torch
from pycocotools.coco import COCO

__all__ = [
    'xyxy_to_xywh', 'encode_masks', 'to_numpy', 'mask_array', 'rle_str_counts',
    'gt_annotations', 'gt_to_coco_dict', 'coco_gt_boxes'
]


def xyxy_to_xywh(bboxes: np.ndarray) -> List[List[float]]:
    """(N, 4) ``x1, y1, x2, y2`` boxes -> N COCO ``[x, y, w, h]`` lists of Python floats."""
    b = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    return np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1).tolist()


def encode_masks(masks: Union[np.ndarray, torch.Tensor]) -> List[dict]:
    """Encode binary masks as COCO compressed RLE, JSON-ready.

    Args:
        masks (np.ndarray | torch.Tensor): (N, H, W) bool or uint8 masks.

    Returns:
        list[dict]: N dicts ``{'size': [H, W], 'counts': str}``.
    """
    if isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f'encode_masks: masks must be (N, H, W), got shape {masks.shape}')
    if masks.shape[0] == 0:
        return []
    # pycocotools wants (H, W, N) uint8 in Fortran order.
    rles = mask_util.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    for rle in rles:
        rle['counts'] = rle['counts'].decode()
    return rles


def to_numpy(value: Any) -> np.ndarray:
    """A numpy array from a tensor (any device) or an array-like."""
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def mask_array(masks: Any) -> np.ndarray:
    """(N, H, W) array from a tensor, an array or a mask object (``.masks`` / ``to_ndarray``)."""
    if hasattr(masks, 'to_ndarray'):
        return masks.to_ndarray()
    return to_numpy(getattr(masks, 'masks', masks))


def rle_str_counts(rle: dict) -> dict:
    """The RLE with ``counts`` as str (JSON-ready) rather than bytes."""
    counts = rle['counts']
    return dict(rle, counts=counts.decode()) if isinstance(counts, bytes) else rle


def gt_annotations(sample: dict) -> List[dict]:
    """Ground truth of one image as ``instances``-style dicts (``bbox`` xyxy, ``bbox_label``,
    ``ignore_flag``, optional ``mask``), from ``instances`` or ``gt_instances``."""
    if 'instances' in sample:
        return list(sample['instances'])
    if 'gt_instances' not in sample:
        raise KeyError('CocoMetric: without ann_file the ground truth comes from the data '
                       "samples, but this one has neither 'instances' nor 'gt_instances'; "
                       f'keys: {sorted(sample)}')
    anns = []
    for key, ignore in (('gt_instances', 0), ('ignored_instances', 1)):
        inst = sample.get(key) or {}
        if 'bboxes' not in inst:
            continue
        bboxes, labels = to_numpy(inst['bboxes']).reshape(-1, 4), to_numpy(inst['labels'])
        rles = encode_masks(mask_array(inst['masks'])) if 'masks' in inst else None
        for i in range(len(bboxes)):
            ann = dict(bbox=bboxes[i].tolist(), bbox_label=int(labels[i]), ignore_flag=ignore)
            if rles is not None:
                ann['mask'] = rles[i]
            anns.append(ann)
    return anns


def gt_to_coco_dict(gts: Sequence[dict], classes: Sequence[str]) -> dict:
    """Build a COCO ground-truth dict from per-image ground truth.

    Args:
        gts (Sequence[dict]): Per image: ``img_id``, ``height``, ``width`` and ``anns``, a list
            of dicts with ``bbox`` (x1, y1, x2, y2) in original-image pixels, ``bbox_label``
            (0..C-1), optional ``ignore_flag`` (1 -> ``iscrowd``) and optional ``mask``
            (polygons or RLE).
        classes (Sequence[str]): C class names; class ``k`` gets category id ``k + 1``.

    Returns:
        dict: ``images``, ``annotations``, ``categories`` in COCO format. ``area`` is the box
        area ``w * h`` even when a mask is given, as mmdet's ``gt_to_coco_json`` writes it: it
        decides the small / medium / large ranges of both 'bbox' and 'segm' (an ``ann_file``
        usually holds the mask area instead, so ``mAP_s/m/l`` can differ from it).
    """
    images, annotations = [], []
    for gt in gts:
        h, w = int(gt['height']), int(gt['width'])
        images.append(dict(id=gt['img_id'], height=h, width=w, file_name=''))
        for ann in gt['anns']:
            x, y, bw, bh = xyxy_to_xywh(np.asarray(ann['bbox']))[0]
            coco_ann = dict(id=len(annotations) + 1, image_id=gt['img_id'],
                            category_id=int(ann['bbox_label']) + 1, bbox=[x, y, bw, bh],
                            area=bw * bh, iscrowd=int(ann.get('ignore_flag', 0)))
            mask = ann.get('mask')
            if mask is not None and len(mask):
                coco_ann['segmentation'] = rle_str_counts(mask) if isinstance(mask, dict) else mask
            annotations.append(coco_ann)
    categories = [dict(id=k + 1, name=name) for k, name in enumerate(classes)]
    return dict(images=images, annotations=annotations, categories=categories)


def coco_gt_boxes(api: COCO, img_id: int) -> np.ndarray:
    """(G, 4) float64 x1y1x2y2 ground-truth boxes of one image, crowd and ``ignore`` left out
    (what mmdet's ``fast_eval_recall`` takes as ground truth)."""
    boxes = [ann['bbox'] for ann in api.loadAnns(api.getAnnIds(imgIds=img_id))
             if not (ann.get('ignore', False) or ann.get('iscrowd', 0))]
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
