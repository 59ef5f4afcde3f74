"""Segmentation transforms missing from ``mmcv.transforms``: RandomCrop, PhotoMetricDistortion,
ResizeShortestEdge.

Both draw from numpy's global random state (as mmseg does), so ``randomness=dict(seed=...)``
in a config, or ``np.random.seed``, makes them repeatable.
"""
from typing import Sequence, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from segdet.registry import TRANSFORMS
from segdet.utils.arg_checks import check_int, check_int_sequence

from .det_transforms import Resize

CropBox = tuple[int, int, int, int]  # (y1, y2, x1, x2), end exclusive


def crop_array(array: np.ndarray, box: CropBox) -> np.ndarray:
    """``array[y1:y2, x1:x2, ...]`` for an (H, W) or (H, W, C) array."""
    y1, y2, x1, x2 = box
    return array[y1:y2, x1:x2, ...]


def random_crop_box(height: int, width: int, crop_size: tuple[int, int]) -> CropBox:
    """A uniformly placed (y1, y2, x1, x2) window of ``crop_size`` (h, w), clipped to the image."""
    offset_h = np.random.randint(0, max(height - crop_size[0], 0) + 1)
    offset_w = np.random.randint(0, max(width - crop_size[1], 0) + 1)
    return offset_h, offset_h + crop_size[0], offset_w, offset_w + crop_size[1]


def largest_class_ratio(seg_map: np.ndarray, ignore_index: int) -> tuple[float, int]:
    """Share of the most frequent class among labelled pixels, and the number of classes present.

    Args:
        seg_map: (H, W) integer label map.
        ignore_index: Label not counted.

    Returns:
        (max count / labelled pixels, number of distinct labels); (1.0, 0) when nothing is labelled.
    """
    labels, counts = np.unique(seg_map, return_counts=True)
    counts = counts[labels != ignore_index]
    if counts.size == 0:
        return 1.0, 0
    return float(counts.max() / counts.sum()), int(counts.size)


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random window of the image and of every map in ``seg_fields``.

    With ``cat_max_ratio < 1`` up to 10 windows are drawn: the first one whose label crop has
    more than one class and whose largest class covers less than ``cat_max_ratio`` of the
    labelled (non-ignored) pixels is kept, else the last one drawn.

    Required keys: img, seg_fields (and the maps it names). Modified: img, img_shape, maps.

    Args:
        crop_size: (h, w) of the window, or one int for both. An image smaller than the window
            is cropped to its own size along that side.
        cat_max_ratio: Largest allowed share of a single class in the crop.
        ignore_index: Label not counted in ``cat_max_ratio``.
    """

    def __init__(self,
                 crop_size: Union[int, Sequence[int]],
                 cat_max_ratio: float = 1.0,
                 ignore_index: int = 255) -> None:
        super().__init__()
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        crop_size = check_int_sequence(crop_size, 'RandomCrop: crop_size', 1)
        if len(crop_size) != 2:
            raise ValueError(f'RandomCrop: crop_size must be one int or (h, w), got {crop_size}')
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index

    @cache_randomness
    def crop_bbox(self, results: dict) -> CropBox:
        """The (y1, y2, x1, x2) window for ``results``."""
        height, width = results['img'].shape[:2]
        box = random_crop_box(height, width, self.crop_size)
        if self.cat_max_ratio >= 1.0 or results.get('gt_seg_map') is None:
            return box
        for _ in range(10):
            ratio, num_labels = largest_class_ratio(
                crop_array(results['gt_seg_map'], box), self.ignore_index)
            if num_labels > 1 and ratio < self.cat_max_ratio:
                break
            box = random_crop_box(height, width, self.crop_size)
        return box

    def transform(self, results: dict) -> dict:
        box = self.crop_bbox(results)
        results['img'] = crop_array(results['img'], box)
        for key in results.get('seg_fields', []):
            results[key] = crop_array(results[key], box)
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'cat_max_ratio={self.cat_max_ratio}, ignore_index={self.ignore_index})')


def scale_and_shift(img: np.ndarray, alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
    """``clip(img * alpha + beta, 0, 255)`` truncated to uint8 (computed in float32)."""
    out = img.astype(np.float32) * alpha + beta
    return np.clip(out, 0, 255).astype(np.uint8)


def scale_saturation(img: np.ndarray, alpha: float) -> np.ndarray:
    """Multiply the HSV saturation of a BGR uint8 image by ``alpha``."""
    hsv = mmcv.bgr2hsv(img)
    hsv[..., 1] = scale_and_shift(hsv[..., 1], alpha=alpha)
    return mmcv.hsv2bgr(hsv)


def shift_hue(img: np.ndarray, delta: int) -> np.ndarray:
    """Rotate the hue of a BGR uint8 image by ``delta`` (OpenCV hue units, period 180)."""
    hsv = mmcv.bgr2hsv(img)
    hsv[..., 0] = (hsv[..., 0].astype(np.int64) + delta) % 180
    return mmcv.hsv2bgr(hsv)


@TRANSFORMS.register_module()
class PhotoMetricDistortion(BaseTransform):
    """Random brightness, contrast, saturation and hue changes of a BGR uint8 image.

    In order: brightness; contrast here or at the end (one coin flip decides); saturation;
    hue. Each step happens with probability 0.5. The random draws follow mmseg's order, so
    a seeded numpy state gives mmseg's result.

    Required keys: img ((H, W, 3) uint8 BGR). Modified: img (same shape, uint8).

    Args:
        brightness_delta: Added value drawn from [-delta, delta].
        contrast_range: Factor range for the pixel values.
        saturation_range: Factor range for the HSV saturation.
        hue_delta: Hue shift drawn from [-hue_delta, hue_delta).
    """

    def __init__(self,
                 brightness_delta: int = 32,
                 contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5),
                 hue_delta: int = 18) -> None:
        super().__init__()
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = contrast_range
        self.saturation_lower, self.saturation_upper = saturation_range
        self.hue_delta = hue_delta

    @staticmethod
    def _coin() -> bool:
        return bool(np.random.randint(2))

    def _contrast(self, img: np.ndarray) -> np.ndarray:
        if self._coin():
            img = scale_and_shift(
                img, alpha=np.random.uniform(self.contrast_lower, self.contrast_upper))
        return img

    def transform(self, results: dict) -> dict:
        img = results['img']
        if self._coin():
            img = scale_and_shift(
                img, beta=np.random.uniform(-self.brightness_delta, self.brightness_delta))
        contrast_first = self._coin()
        if contrast_first:
            img = self._contrast(img)
        if self._coin():
            img = scale_saturation(
                img, np.random.uniform(self.saturation_lower, self.saturation_upper))
        if self._coin():
            img = shift_hue(img, np.random.randint(-self.hue_delta, self.hue_delta))
        if not contrast_first:
            img = self._contrast(img)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(brightness_delta={self.brightness_delta}, '
                f'contrast_range=({self.contrast_lower}, {self.contrast_upper}), '
                f'saturation_range=({self.saturation_lower}, {self.saturation_upper}), '
                f'hue_delta={self.hue_delta})')


def shortest_edge_size(height: int, width: int, short_edge: int,
                       max_size: int) -> tuple[int, int]:
    """Size that makes the short side ``short_edge`` with the aspect ratio kept, shrunk further
    if the long side would exceed ``max_size`` (detectron2's / mmseg's rule).

    Args:
        height, width: Image size.
        short_edge: Target length of the short side.
        max_size: Largest allowed length of the long side.

    Returns:
        (new_h, new_w), each rounded half up.
    """
    scale = short_edge / min(height, width)
    if height < width:
        new_h, new_w = float(short_edge), scale * width
    else:
        new_h, new_w = scale * height, float(short_edge)
    if max(new_h, new_w) > max_size:
        shrink = max_size / max(new_h, new_w)
        new_h, new_w = new_h * shrink, new_w * shrink
    return int(new_h + 0.5), int(new_w + 0.5)


@TRANSFORMS.register_module()
class ResizeShortestEdge(BaseTransform):
    """mmseg's ``ResizeShortestEdge``: resize so the short side is ``scale`` and the long side
    at most ``max_size``, keeping the aspect ratio.

    The target (new_w, new_h) comes from :func:`shortest_edge_size`; the image and its maps
    are then resized by :class:`Resize` with ``keep_ratio=True`` and that scale, as mmseg does.

    Required keys: img; optional gt_seg_map, gt_bboxes, gt_masks.
    Modified keys: img, img_shape, and the optional keys (see :class:`Resize`).
    Added keys: scale ((new_w, new_h)), scale_factor ((w_scale, h_scale)), keep_ratio (True).

    Args:
        scale: Target short side, or a sequence of them (the smallest is used, as in mmseg).
        max_size: Largest allowed long side.
    """

    def __init__(self, scale: Union[int, Sequence[int]], max_size: int) -> None:
        super().__init__()
        edges = check_int_sequence(scale, 'ResizeShortestEdge: scale', 1, allow_int=True)
        check_int(max_size, 'ResizeShortestEdge: max_size', 1)
        self.scale = scale
        self.max_size = max_size
        self.short_edge = min(edges)
        # scale is set for each image before the call (mmseg does the same).
        self.resize = Resize(scale=0, keep_ratio=True)

    def transform(self, results: dict) -> dict:
        height, width = results['img'].shape[:2]
        new_h, new_w = shortest_edge_size(height, width, self.short_edge, self.max_size)
        self.resize.scale = (new_w, new_h)
        return self.resize(results)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale}, max_size={self.max_size})'
