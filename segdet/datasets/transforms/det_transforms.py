"""Instance masks and keypoints for detection: decoding COCO masks, and Resize / RandomFlip
that carry masks and keypoints.

Instance masks travel through a pipeline as ``results['gt_masks']``, a plain (N, H, W) uint8
array of 0/1 aligned with ``results['img']`` (no mask classes). mmcv's ``Resize`` and
``RandomFlip`` already handle ``img``, ``gt_bboxes`` ((N, 4) x1, y1, x2, y2 in pixels),
``gt_seg_map`` and ``gt_keypoints``; the subclasses here add ``gt_masks`` and keep
``gt_bboxes`` float32. Keypoints (``results['gt_keypoints']``, (N, K, 3) x, y, v) are scaled
without clipping and flipped with their left/right labels swapped (:func:`flip_keypoints`).
Without ``gt_masks`` / ``gt_bboxes`` / ``gt_keypoints`` (segmentation pipelines) they do
exactly what mmcv's do.
"""
from typing import Optional, Sequence, Union

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
from mmcv.transforms import RandomFlip as MMCVRandomFlip
from mmcv.transforms import Resize as MMCVResize

from segdet.datasets.coco_keypoints import check_flip_indices
from segdet.registry import TRANSFORMS

MaskAnnotation = Union[list, dict]


def is_valid_polygon(polygon: list) -> bool:
    """Whether a COCO polygon ``[x1, y1, x2, y2, ...]`` has at least 3 points (6 numbers)."""
    return len(polygon) >= 6 and len(polygon) % 2 == 0


def decode_instance_mask(mask_ann: MaskAnnotation, height: int, width: int) -> np.ndarray:
    """Rasterise one COCO instance segmentation with pycocotools.

    Args:
        mask_ann: A list of polygons (each ``[x1, y1, x2, y2, ...]`` in pixels; the parts of
            one object are merged), or an RLE dict ``{'size': [h, w], 'counts': ...}`` with
            uncompressed (list of ints) or compressed (str or bytes) counts.
        height: Image height H.
        width: Image width W.

    Returns:
        (H, W) uint8 mask of 0/1.

    Raises:
        TypeError: ``mask_ann`` is neither a list nor a dict.
        KeyError: An RLE dict without ``counts`` / ``size``.
        ValueError: Counts pycocotools cannot decode, or an RLE whose size is not (H, W).
    """
    if isinstance(mask_ann, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(mask_ann, height, width))
    elif isinstance(mask_ann, dict):
        if mask_ann.get('counts') is None or mask_ann.get('size') is None:
            raise KeyError(f'RLE mask needs "counts" and "size", got keys {sorted(mask_ann)}')
        if isinstance(mask_ann['counts'], list):
            rle = mask_utils.frPyObjects(mask_ann, height, width)
        else:
            rle = mask_ann
    else:
        raise TypeError(f'a mask is a polygon list or an RLE dict, got {type(mask_ann).__name__}')
    mask = mask_utils.decode(rle)
    if mask.shape != (height, width):
        raise ValueError(f'RLE mask of size {list(mask.shape)} for an image of {height}x{width}')
    return mask.astype(np.uint8)


def resize_masks(masks: np.ndarray, img_shape: tuple[int, int],
                 backend: str = 'cv2') -> np.ndarray:
    """Resize (N, H, W) masks to (N, h, w) with nearest-neighbour interpolation.

    Args:
        masks: (N, H, W) uint8 masks.
        img_shape: The new (h, w).
        backend: ``mmcv.imresize`` backend ('cv2' or 'pillow').

    Returns:
        (N, h, w) uint8 masks.
    """
    h, w = int(img_shape[0]), int(img_shape[1])
    if len(masks) == 0:
        return np.zeros((0, h, w), dtype=np.uint8)
    return np.stack([
        mmcv.imresize(m, (w, h), interpolation='nearest', backend=backend) for m in masks
    ]).astype(np.uint8)


def flip_masks(masks: np.ndarray, direction: str) -> np.ndarray:
    """Flip (N, H, W) masks 'horizontal'ly, 'vertical'ly or 'diagonal'ly (both).

    Returns:
        A contiguous (N, H, W) array.
    """
    axes = {'horizontal': (2, ), 'vertical': (1, ), 'diagonal': (1, 2)}
    if direction not in axes:
        raise ValueError(f"flip direction must be one of {tuple(axes)}, got '{direction}'")
    return np.ascontiguousarray(np.flip(masks, axis=axes[direction]))


def resize_keypoints(keypoints: np.ndarray, scale_factor: tuple[float, float]) -> np.ndarray:
    """Scale the x, y of (N, K, 3) keypoints by ``(w_scale, h_scale)``; v is kept.

    Returns:
        A new (N, K, 3) float32 array.
    """
    out = np.array(keypoints, dtype=np.float32, copy=True)
    out[..., :2] *= np.asarray(scale_factor, dtype=np.float32)
    return out


def flip_keypoints(keypoints: np.ndarray, img_shape: tuple[int, int], direction: str,
                   flip_indices: Optional[Sequence[int]]) -> np.ndarray:
    """Mirror (N, K, 3) keypoints in an image of ``img_shape`` (h, w) and relabel them.

    Coordinates follow the box convention (a box edge at x goes to W - x): 'horizontal'
    maps x to W - x, 'vertical' y to H - y, 'diagonal' both. A mirror image swaps left and
    right, so after 'horizontal' and 'vertical' keypoint ``i`` becomes the original's
    ``flip_indices[i]``; 'diagonal' (both mirrors, a 180 degree rotation) keeps the labels.
    v is kept; so are the coordinates of unlabelled (v = 0) keypoints, mirrored like the rest,
    so flipping twice gives the input back.

    Raises:
        ValueError: ``direction`` is unknown, or ``flip_indices`` is needed but None.
    """
    h, w = img_shape
    out = np.array(keypoints, dtype=np.float32, copy=True)
    if direction not in ('horizontal', 'vertical', 'diagonal'):
        raise ValueError(f"flip direction must be 'horizontal', 'vertical' or 'diagonal', "
                         f"got '{direction}'")
    if direction in ('horizontal', 'diagonal'):
        out[..., 0] = w - out[..., 0]
    if direction in ('vertical', 'diagonal'):
        out[..., 1] = h - out[..., 1]
    if direction != 'diagonal':
        if flip_indices is None:
            raise ValueError(f'a {direction} flip of keypoints needs flip_indices')
        out = out[:, list(flip_indices)]
    return out


@TRANSFORMS.register_module()
class Resize(MMCVResize):
    """mmcv's ``Resize`` (same arguments), which also resizes ``gt_masks``.

    With ``scale=(1333, 800), keep_ratio=True`` the image is rescaled by one factor so that
    its long side is at most 1333 and its short side at most 800 (mmdet's convention).

    Required keys: img; optional gt_bboxes, gt_masks, gt_seg_map, gt_keypoints.
    Modified keys: img, img_shape, gt_bboxes ((N, 4) float32, scaled by (w_scale, h_scale)
    and clipped to the new image when ``clip_object_border``), gt_masks ((N, h, w) uint8,
    nearest, exactly ``img_shape``), gt_seg_map, gt_keypoints ((N, K, 3) float32, x and y
    scaled by (w_scale, h_scale), v kept).

    Keypoints are never clipped (unlike mmcv's ``Resize``) and keep their v, also when they
    lie outside the image: moving one to the border would give it a wrong position that
    still counts as labelled; keypoint targets leave out keypoints outside their RoI.
    Added keys: scale, scale_factor ((w_scale, h_scale) = new size / old size), keep_ratio.
    """

    def _resize_bboxes(self, results: dict) -> None:
        bboxes = results.get('gt_bboxes')
        super()._resize_bboxes(results)
        # mmcv multiplies by a float64 factor; keep the loaded dtype (float32).
        if isinstance(bboxes, np.ndarray):
            results['gt_bboxes'] = results['gt_bboxes'].astype(bboxes.dtype, copy=False)

    def _resize_keypoints(self, results: dict) -> None:
        if results.get('gt_keypoints') is not None:
            results['gt_keypoints'] = resize_keypoints(results['gt_keypoints'],
                                                       results['scale_factor'])

    def _resize_masks(self, results: dict) -> None:
        if results.get('gt_masks') is not None:
            results['gt_masks'] = resize_masks(results['gt_masks'], results['img_shape'],
                                               self.backend)

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        self._resize_masks(results)
        return results


@TRANSFORMS.register_module()
class RandomFlip(MMCVRandomFlip):
    """mmcv's ``RandomFlip`` (same arguments), which also flips ``gt_masks`` and swaps the
    left/right labels of ``gt_keypoints``.

    A box ``[x1, y1, x2, y2]`` of an image of width W flips horizontally to
    ``[W - x2, y1, W - x1, y2]``, mask column c to W - 1 - c and a keypoint's x to W - x, so
    boxes, masks and keypoints stay aligned. Keypoints are then relabelled through
    ``results['flip_indices']`` (from the data set's metainfo, see :func:`flip_keypoints`).

    Required keys: img; flip_indices when gt_keypoints are flipped horizontally or
    vertically.
    Modified keys: img, gt_bboxes, gt_masks ((N, H, W), contiguous), gt_seg_map,
    gt_keypoints ((N, K, 3) float32).
    Added keys: flip, flip_direction.
    """

    def _flip(self, results: dict) -> None:
        keypoints = results.pop('gt_keypoints', None)
        super()._flip(results)  # mmcv's keypoint flip would not swap left and right
        if results.get('gt_masks') is not None:
            results['gt_masks'] = flip_masks(results['gt_masks'], results['flip_direction'])
        if keypoints is not None:
            results['gt_keypoints'] = self._flip_gt_keypoints(keypoints, results)

    @staticmethod
    def _flip_gt_keypoints(keypoints: np.ndarray, results: dict) -> np.ndarray:
        flip_indices = results.get('flip_indices')
        where = results.get('img_path')
        if flip_indices is None and results['flip_direction'] != 'diagonal':
            raise KeyError(
                f'RandomFlip: image {where} has gt_keypoints but no flip_indices to swap its '
                f"left and right keypoints; give the data set metainfo=dict(flip_indices=...)")
        if flip_indices is not None:
            try:
                check_flip_indices(flip_indices, keypoints.shape[1])
            except ValueError as err:
                raise ValueError(f'RandomFlip: image {where}: {err}') from err
        return flip_keypoints(keypoints, results['img'].shape[:2], results['flip_direction'],
                              flip_indices)
