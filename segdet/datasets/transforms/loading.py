"""Load images and label maps (checked against their image and the class list).

A file that cannot be read or decoded raises :class:`BadSampleError` naming it; a data set
with ``skip_bad_samples=True`` replaces such a sample during training.
"""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadAnnotations as MMCVLoadAnnotations
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile

from segdet.registry import TRANSFORMS


class BadSampleError(OSError):
    """An image or label file of a sample is missing, unreadable or cannot be decoded."""


@TRANSFORMS.register_module()
class LoadImageFromFile(MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (same arguments) raising :class:`BadSampleError`.

    mmcv raises a bare ``AssertionError`` for bytes it cannot decode; this names the file and
    gives data sets one error type to catch (``skip_bad_samples``).

    Required keys: img_path. Added keys: img, img_shape, ori_shape.
    """

    def transform(self, results: dict) -> Optional[dict]:
        path = results.get('img_path')
        try:
            return super().transform(results)
        except BadSampleError:
            raise
        except (OSError, AssertionError, ValueError) as err:
            raise BadSampleError(f'cannot read image {path}: {type(err).__name__}: {err}') from err


def reduce_zero_label(seg_map: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """Drop label 0: it becomes ``ignore_index`` and every other label moves down by one.

    ``ignore_index`` (255) itself stays ``ignore_index``.

    Args:
        seg_map: (H, W) integer label map.
        ignore_index: Label of unlabeled pixels.

    Returns:
        A new (H, W) map of the same dtype.
    """
    out = seg_map.astype(np.int64) - 1
    out[(seg_map == 0) | (seg_map == ignore_index)] = ignore_index
    return out.astype(seg_map.dtype)


def apply_label_map(seg_map: np.ndarray, label_map: dict[int, int]) -> np.ndarray:
    """Relabel ``seg_map`` with ``{old: new}``; values not in ``label_map`` stay as they are.

    Every pixel is mapped once from the original values (no chained replacements).

    Args:
        seg_map: (H, W) integer label map.
        label_map: Old-to-new label values.

    Returns:
        A new (H, W) map of the same dtype.
    """
    if seg_map.dtype == np.uint8:
        lut = np.arange(256, dtype=np.uint8)
        for old, new in label_map.items():
            if 0 <= old < 256:
                lut[old] = new
        return lut[seg_map]
    out = seg_map.copy()
    for old, new in label_map.items():
        out[seg_map == old] = new
    return out


def invalid_label_values(seg_map: np.ndarray, num_classes: int, ignore_index: int) -> np.ndarray:
    """Values of ``seg_map`` that are neither a class index (0..num_classes-1) nor ``ignore_index``.

    Args:
        seg_map: (H, W) integer label map.
        num_classes: Number of classes.
        ignore_index: Label of unlabeled pixels.

    Returns:
        Sorted 1-D array of the bad values (empty when the map is valid).
    """
    if seg_map.dtype == np.uint8:
        present = np.flatnonzero(np.bincount(seg_map.ravel(), minlength=256))
    else:
        present = np.unique(seg_map)
    bad = (present < 0) | (present >= num_classes)
    bad &= present != ignore_index
    return present[bad]


def as_single_channel(seg_map: np.ndarray, path: str) -> np.ndarray:
    """(H, W) view of a decoded label map; grey maps stored with 3 equal channels are accepted."""
    if seg_map.ndim == 3 and seg_map.shape[2] == 1:
        return seg_map[..., 0]
    if seg_map.ndim == 3 and all(
            np.array_equal(seg_map[..., 0], seg_map[..., c]) for c in range(1, seg_map.shape[2])):
        return seg_map[..., 0]
    if seg_map.ndim != 2:
        raise ValueError(
            f'label map {path} has shape {seg_map.shape}: expected one channel of class '
            f'indices (a colour-coded label image must be converted to class indices first)')
    return seg_map


@TRANSFORMS.register_module()
class LoadAnnotations(MMCVLoadAnnotations):
    """Read ``results['seg_map_path']`` into ``results['gt_seg_map']`` and check it.

    The file is decoded unchanged (palette PNGs give their indices), then label 0 is dropped
    when ``reduce_zero_label`` is set, then ``label_map`` relabels a class subset. The map is
    uint8 (as in mmseg) unless the file holds values above 255 (then int64).

    Checks (both raise ``ValueError`` naming the label file):
        - its (h, w) equals the image's ``ori_shape`` (when an image was loaded before);
        - every value is a class index below ``results['num_classes']`` or
          ``results['ignore_index']`` (when the data set gave ``num_classes``).

    Required keys: seg_map_path, reduce_zero_label, seg_fields; optional: label_map,
    num_classes, ignore_index, ori_shape, img_path.
    Added keys: gt_seg_map ((H, W) uint8 or int64); 'gt_seg_map' appended to seg_fields.

    Args:
        reduce_zero_label: Leave None to follow the data set's setting; a value that differs
            from the data set's raises an error.
        imdecode_backend: ``mmcv.imfrombytes`` backend.
        backend_args: mmengine file backend arguments.
        with_seg: Load the label map.
    """

    def __init__(self,
                 reduce_zero_label: Optional[bool] = None,
                 imdecode_backend: str = 'pillow',
                 backend_args: Optional[dict] = None,
                 with_seg: bool = True) -> None:
        super().__init__(
            with_bbox=False,
            with_label=False,
            with_seg=with_seg,
            with_keypoints=False,
            imdecode_backend=imdecode_backend,
            backend_args=backend_args)
        self.reduce_zero_label = reduce_zero_label

    def _load_seg_map(self, results: dict) -> None:
        path = results.get('seg_map_path')
        if path is None:
            raise KeyError(
                f'LoadAnnotations: no seg_map_path for image {results.get("img_path")}: the data '
                f"set has no data_prefix['seg_map_path']; give it one or drop LoadAnnotations "
                f'from the pipeline')
        try:
            data = fileio.get(path, backend_args=self.backend_args)
            decoded = mmcv.imfrombytes(data, flag='unchanged', backend=self.imdecode_backend)
        except (OSError, ValueError) as err:
            raise BadSampleError(
                f'cannot read label map {path}: {type(err).__name__}: {err}') from err
        if decoded is None:
            raise BadSampleError(f'cannot decode label map {path}')
        raw = as_single_channel(decoded, path)
        raw = raw.astype(np.uint8) if raw.max(initial=0) <= 255 and raw.min(
            initial=0) >= 0 else raw.astype(np.int64)
        self._check_size(raw, results)

        ignore_index = results.get('ignore_index', 255)
        seg_map = raw
        if self._reduce_zero_label(results):
            seg_map = reduce_zero_label(seg_map, ignore_index)
        if results.get('label_map') is not None:
            seg_map = apply_label_map(seg_map, results['label_map'])
        if results.get('num_classes') is not None:
            bad = invalid_label_values(seg_map, results['num_classes'], ignore_index)
            if bad.size:
                # Report the values as they are stored in the file.
                stored = np.unique(raw[np.isin(seg_map, bad)])
                raise ValueError(
                    f'label map {path} holds values {stored.tolist()} that are neither a class '
                    f'index 0..{results["num_classes"] - 1} nor ignore_index {ignore_index}'
                    f'{self._label_steps(results)}')
        results['gt_seg_map'] = seg_map
        results.setdefault('seg_fields', []).append('gt_seg_map')

    def _reduce_zero_label(self, results: dict) -> bool:
        dataset_value = results.get('reduce_zero_label')
        if self.reduce_zero_label is None:
            return bool(dataset_value)
        if dataset_value is not None and bool(dataset_value) != bool(self.reduce_zero_label):
            raise ValueError(
                f'LoadAnnotations(reduce_zero_label={self.reduce_zero_label}) disagrees with the '
                f'data set (reduce_zero_label={dataset_value}); set it on the data set only')
        return bool(self.reduce_zero_label)

    @staticmethod
    def _check_size(seg_map: np.ndarray, results: dict) -> None:
        ori_shape = results.get('ori_shape')
        if ori_shape is None or tuple(seg_map.shape[:2]) == tuple(ori_shape[:2]):
            return
        raise ValueError(
            f'label map {results["seg_map_path"]} is {seg_map.shape[0]}x{seg_map.shape[1]} '
            f'(h x w) but its image {results.get("img_path", "")} is '
            f'{ori_shape[0]}x{ori_shape[1]}; a label map must have the size of its image')

    def _label_steps(self, results: dict) -> str:
        steps = []
        if self._reduce_zero_label(results):
            steps.append('reduce_zero_label')
        if results.get('label_map') is not None:
            steps.append('label_map')
        return f' (after {" and ".join(steps)})' if steps else ''

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(reduce_zero_label={self.reduce_zero_label}, '
                f"imdecode_backend='{self.imdecode_backend}', backend_args={self.backend_args})")


@TRANSFORMS.register_module()
class LoadImageFromNDArray(LoadImageFromFile):
    """Take an image already in memory from ``results['img']`` (used by inference APIs).

    Added keys: img_path (None), img_shape, ori_shape; ``img`` becomes float32 when
    ``to_float32`` is set.
    """

    def transform(self, results: dict) -> dict:
        img = results['img']
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(img=img, img_path=None, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results
