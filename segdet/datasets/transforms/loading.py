"""Load images, label maps (checked against their image and the class list), instances and
precomputed proposals.

A file that cannot be read or decoded raises :class:`BadSampleError` naming it; a data set
with ``skip_bad_samples=True`` replaces such a sample during training.
"""
from typing import Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadAnnotations as MMCVLoadAnnotations
from mmcv.transforms import LoadImageFromFile as MMCVLoadImageFromFile
from mmcv.transforms.base import BaseTransform
from mmengine.structures import BaseDataElement

from segdet.registry import TRANSFORMS

from .det_transforms import decode_instance_mask, is_valid_polygon


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
    """Load a label map (segmentation) and/or instance boxes, labels and masks (detection).

    ``LoadAnnotations()`` (mmseg configs) loads the label map only;
    ``LoadAnnotations(with_bbox=True)`` / ``(with_bbox=True, with_mask=True)`` (mmdet configs)
    load instances and no label map unless ``with_seg=True`` is also given.

    Label map: ``results['seg_map_path']`` is decoded unchanged (palette PNGs give their
    indices), then label 0 is dropped when ``reduce_zero_label`` is set, then ``label_map``
    relabels a class subset. The map is uint8 (as in mmseg) unless the file holds values above
    255 (then int64). Checks (both raise ``ValueError`` naming the label file):
        - its (h, w) equals the image's ``ori_shape`` (when an image was loaded before);
        - every value is a class index below ``results['num_classes']`` or
          ``results['ignore_index']`` (when the data set gave ``num_classes``).

    Instances: from ``results['instances']`` (see :class:`~segdet.datasets.CocoDataset`), each
    a dict with ``bbox`` [x1, y1, x2, y2], ``bbox_label``, ``ignore_flag`` and ``mask``
    (polygon list or RLE dict). Polygons with fewer than 3 points are left out; an instance
    with no valid polygon left keeps its box but becomes ignored (``gt_ignore_flags`` True,
    all-zero mask), as in mmdet.

    Keypoints (``with_keypoints``): each instance's ``keypoints``, a (K, 3) array of x, y, v
    (see :class:`~segdet.datasets.CocoDataset`), stacked into ``gt_keypoints``. An image
    without instances gets (0, K, 3) with K from ``results['keypoints_per_instance']``.

    Required keys: seg_map_path, reduce_zero_label, seg_fields (with_seg); instances and
    ori_shape or height/width (with_bbox / with_label / with_mask / with_keypoints);
    optional: label_map, num_classes, ignore_index, img_path, keypoints_per_instance.
    Added keys:
        gt_seg_map: (H, W) uint8 or int64; 'gt_seg_map' appended to seg_fields.
        gt_bboxes: (N, 4) float32 x1, y1, x2, y2 in pixels (with_bbox).
        gt_bboxes_labels: (N,) int64 class indices (with_label).
        gt_ignore_flags: (N,) bool, True for crowd / unusable instances (any instance key).
        gt_masks: (N, H, W) uint8 0/1 at ``ori_shape`` (with_mask).
        gt_keypoints: (N, K, 3) float32 x, y (pixels), v (0, 1, 2) (with_keypoints).

    Args:
        reduce_zero_label: None (default) takes ``results['reduce_zero_label']``, the data
            set's setting, for each image, as mmseg does (unlike mmseg, the transform does not
            keep the first image's value). A value given here must equal the data set's
            (``ValueError`` otherwise, where mmseg asserts); it is used when the results
            carry no value.
        imdecode_backend: ``mmcv.imfrombytes`` backend.
        backend_args: mmengine file backend arguments.
        with_seg: Load the label map; None means True unless ``with_bbox`` or ``with_mask``.
        with_bbox: Load instance boxes.
        with_label: Load instance labels; None means ``with_bbox or with_mask``.
        with_mask: Load instance masks as bitmaps.
        poly2mask: Must be True: masks are always rasterised (polygon masks are not kept).
        with_keypoints: Load instance keypoints.
    """

    def __init__(self,
                 reduce_zero_label: Optional[bool] = None,
                 imdecode_backend: str = 'pillow',
                 backend_args: Optional[dict] = None,
                 with_seg: Optional[bool] = None,
                 with_bbox: bool = False,
                 with_label: Optional[bool] = None,
                 with_mask: bool = False,
                 poly2mask: bool = True,
                 with_keypoints: bool = False) -> None:
        if not poly2mask:
            raise NotImplementedError(
                'LoadAnnotations(poly2mask=False): segdet keeps instance masks as (N, H, W) '
                'bitmaps only; drop poly2mask or set it to True')
        if with_seg is None:
            with_seg = not (with_bbox or with_mask or with_keypoints)
        if with_label is None:
            with_label = with_bbox or with_mask
        super().__init__(
            with_bbox=with_bbox,
            with_label=with_label,
            with_seg=with_seg,
            with_keypoints=False,
            imdecode_backend=imdecode_backend,
            backend_args=backend_args)
        self.reduce_zero_label = reduce_zero_label
        self.with_mask = with_mask
        self.poly2mask = poly2mask
        self.with_keypoints = with_keypoints

    def transform(self, results: dict) -> dict:
        """Add the keys listed in the class docstring for the enabled kinds."""
        if self.with_bbox or self.with_label or self.with_mask or self.with_keypoints:
            instances = self._instances(results)
            results['gt_ignore_flags'] = np.array(
                [bool(inst.get('ignore_flag', 0)) for inst in instances], dtype=bool).reshape(-1)
            if self.with_bbox:
                results['gt_bboxes'] = np.array(
                    [inst['bbox'] for inst in instances], dtype=np.float32).reshape(-1, 4)
            if self.with_label:
                results['gt_bboxes_labels'] = np.array(
                    [inst['bbox_label'] for inst in instances], dtype=np.int64).reshape(-1)
            if self.with_mask:
                self._load_masks(results, instances)
            if self.with_keypoints:
                self._load_keypoints(results, instances)
        if self.with_seg:
            self._load_seg_map(results)
        return results

    @staticmethod
    def _instances(results: dict) -> list:
        if 'instances' not in results:
            raise KeyError(
                f'LoadAnnotations(with_bbox/with_label/with_mask/with_keypoints): image '
                f'{results.get("img_path")} has no "instances"; the data set gives no instance '
                f'annotations (use a detection data set such as CocoDataset, or drop these flags)')
        ori_shape = results.get('ori_shape')
        height, width = results.get('height'), results.get('width')
        if ori_shape is not None and height is not None and width is not None and (
                tuple(ori_shape[:2]) != (height, width)):
            raise ValueError(
                f'image {results.get("img_path")} is {ori_shape[0]}x{ori_shape[1]} (h x w) but '
                f'its annotation says {height}x{width}; boxes and masks would not fit it (an '
                f"EXIF rotation? try LoadImageFromFile(color_type='color_ignore_orientation'))")
        return results['instances']

    def _load_masks(self, results: dict, instances: list) -> None:
        if results.get('ori_shape') is not None:
            h, w = (int(v) for v in results['ori_shape'][:2])
        elif results.get('height') is not None and results.get('width') is not None:
            h, w = int(results['height']), int(results['width'])
        else:
            raise KeyError(f'LoadAnnotations(with_mask=True) needs ori_shape (load the image '
                           f'first) or height/width for image {results.get("img_path")}')
        masks = []
        for i, inst in enumerate(instances):
            if 'mask' not in inst:
                raise KeyError(
                    f'LoadAnnotations(with_mask=True): instance {i} of image '
                    f'{results.get("img_path")} has no mask (its annotation has no '
                    f'segmentation); use with_mask=False for box-only annotations')
            mask_ann = inst['mask']
            if isinstance(mask_ann, list):
                mask_ann = [p for p in mask_ann if is_valid_polygon(p)]
                if not mask_ann:
                    results['gt_ignore_flags'][i] = True
                    masks.append(np.zeros((h, w), dtype=np.uint8))
                    continue
            try:
                masks.append(decode_instance_mask(mask_ann, h, w))
            except (KeyError, TypeError, ValueError) as err:
                # Re-raise as the same kind (KeyError / TypeError / ValueError, not a subclass
                # whose constructor differs) with the instance and image prepended.
                kind = next(k for k in (KeyError, TypeError, ValueError) if isinstance(err, k))
                reason = err.args[0] if len(err.args) == 1 else err  # str(KeyError) quotes
                raise kind(f'instance {i} of image {results.get("img_path")}: '
                           f'{reason}') from err
        results['gt_masks'] = (np.stack(masks) if masks else np.zeros((0, h, w), dtype=np.uint8))

    @staticmethod
    def _load_keypoints(results: dict, instances: list) -> None:
        missing = [i for i, inst in enumerate(instances) if 'keypoints' not in inst]
        if missing:
            raise KeyError(
                f'LoadAnnotations(with_keypoints=True): instance {missing[0]} of image '
                f'{results.get("img_path")} has no keypoints (the data set has no keypoint '
                f'categories); use with_keypoints=False or a person_keypoints json')
        if not instances:
            num = int(results.get('keypoints_per_instance', 0))
            results['gt_keypoints'] = np.zeros((0, num, 3), dtype=np.float32)
            return
        shapes = {np.shape(inst['keypoints']) for inst in instances}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[1] != 3:
            raise ValueError(f'LoadAnnotations(with_keypoints=True): keypoints of image '
                             f'{results.get("img_path")} must all be (K, 3), got {shapes}')
        results['gt_keypoints'] = np.stack(
            [np.asarray(inst['keypoints'], dtype=np.float32) for inst in instances])

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
                f"imdecode_backend='{self.imdecode_backend}', backend_args={self.backend_args}, "
                f'with_seg={self.with_seg}, with_bbox={self.with_bbox}, '
                f'with_label={self.with_label}, with_mask={self.with_mask}, '
                f'with_keypoints={self.with_keypoints})')


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


@TRANSFORMS.register_module()
class LoadProposals(BaseTransform):
    """mmdet's ``LoadProposals``: turn precomputed proposals into arrays.

    Required keys: proposals, a dict (or data element) with ``bboxes`` (N, 4) x1, y1, x2, y2
    and optional ``scores`` (N,), sorted by score when ``num_max_proposals`` is used.
    Modified keys: proposals ((N, 4) float32). Added keys: proposals_scores ((N,) float32,
    zeros when no scores were given).

    Args:
        num_max_proposals: Keep at most this many (the first ones); None keeps all.
    """

    def __init__(self, num_max_proposals: Optional[int] = None) -> None:
        super().__init__()
        self.num_max_proposals = num_max_proposals

    def transform(self, results: dict) -> dict:
        where = results.get('img_path')
        proposals = results.get('proposals')
        if not isinstance(proposals, (dict, BaseDataElement)):
            raise TypeError(f"LoadProposals: results['proposals'] of image {where} must be a "
                            f'dict or data element with bboxes, got {type(proposals).__name__}')
        bboxes = np.asarray(proposals['bboxes'], dtype=np.float32)
        if bboxes.size == 0:
            bboxes = bboxes.reshape(0, 4)
        if bboxes.ndim != 2 or bboxes.shape[1] != 4:
            raise ValueError(f'LoadProposals: proposals of image {where} must be (N, 4), got '
                             f'{bboxes.shape}')
        if 'scores' in proposals:
            scores = np.asarray(proposals['scores'], dtype=np.float32).reshape(-1)
            if len(scores) != len(bboxes):
                raise ValueError(f'LoadProposals: image {where} has {len(bboxes)} proposal '
                                 f'boxes but {len(scores)} scores')
        else:
            scores = np.zeros(len(bboxes), dtype=np.float32)
        if self.num_max_proposals is not None:
            bboxes = bboxes[:self.num_max_proposals]
            scores = scores[:self.num_max_proposals]
        results['proposals'] = bboxes
        results['proposals_scores'] = scores
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_max_proposals={self.num_max_proposals})'
