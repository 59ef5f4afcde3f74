"""COCO-style instance annotations (boxes, polygons, RLE masks) as an mmengine data set."""
import colorsys
import os.path as osp
from collections import defaultdict
from typing import Any, Callable, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from pycocotools.coco import COCO

from segdet.datasets.coco_keypoints import (category_keypoint_names, count_labelled_keypoints,
                                            keypoint_metainfo, parse_keypoints)
from segdet.datasets.transforms.det_transforms import is_valid_polygon
from segdet.registry import DATASETS, TRANSFORMS
from segdet.utils.coco_json import load_coco_json

COCO_CLASSES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
    'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball', 'kite',
    'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
    'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich',
    'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote',
    'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
    'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush')

FILTER_KEYS = ('filter_empty_gt', 'min_size', 'min_keypoints')


def distinct_palette(num: int) -> list[tuple[int, int, int]]:
    """``num`` well-separated RGB colours (hues stepped by the golden ratio), deterministic."""
    colours = []
    for i in range(num):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.55 + 0.35 * (i % 3) / 2,
                                      0.95 - 0.25 * (i % 2))
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


COCO_PALETTE = tuple(distinct_palette(len(COCO_CLASSES)))


def coco_box_to_xyxy(bbox: Sequence[float], width: int, height: int) -> Optional[list[float]]:
    """COCO ``[x, y, w, h]`` -> ``[x1, y1, x2, y2]`` clipped to a ``width`` x ``height`` image.

    Returns:
        The clipped box, or None for a box to drop: w < 1 or h < 1, or no overlap with the
        image.

    Raises:
        ValueError: ``bbox`` is not 4 numbers, or its width or height is negative (a malformed
            box, often ``[x1, y1, x2, y2]`` written where COCO wants ``[x, y, w, h]``; dropping
            it would silently turn its object into background).
    """
    if len(bbox) != 4:
        raise ValueError(f'bbox must be [x, y, width, height], got {list(bbox)}')
    x, y, w, h = (float(v) for v in bbox)
    if w < 0 or h < 0:
        raise ValueError(f'bbox {list(bbox)} has a negative width or height; COCO boxes are '
                         f'[x, y, width, height]')
    if w < 1 or h < 1:
        return None
    x1, y1 = min(max(x, 0.0), width), min(max(y, 0.0), height)
    x2, y2 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, x2, y2]


def parse_instance(ann: dict, width: int, height: int) -> Optional[dict]:
    """One COCO annotation -> an instance dict without its label, or None to drop it.

    Returns:
        ``dict(bbox=[x1, y1, x2, y2], ignore_flag=0 | 1, mask=...)``: ``ignore_flag`` is 1 for
        ``iscrowd``; ``mask`` is the list of valid polygons (possibly empty when every polygon
        has fewer than 3 points) or the RLE dict, and is absent without a segmentation. None
        for ``ignore`` annotations, zero ``area`` and boxes dropped by
        :func:`coco_box_to_xyxy`.

    Raises:
        ValueError: A box with a negative width or height (see :func:`coco_box_to_xyxy`), or
            an RLE without ``counts``/``size`` or of another size than the image.
    """
    if ann.get('ignore', False):
        return None
    bbox = coco_box_to_xyxy(ann['bbox'], width, height)
    if bbox is None or ann.get('area', 1) <= 0:
        return None
    instance: dict[str, Any] = dict(bbox=bbox, ignore_flag=int(bool(ann.get('iscrowd', 0))))
    seg = ann.get('segmentation')
    if isinstance(seg, list) and seg:
        instance['mask'] = [list(p) for p in seg if is_valid_polygon(p)]
    elif isinstance(seg, dict):
        if seg.get('counts') is None or list(seg.get('size') or []) != [height, width]:
            raise ValueError(f'RLE segmentation must have counts and size [{height}, {width}], '
                             f'got size {seg.get("size")}')
        instance['mask'] = seg
    return instance


@DATASETS.register_module()
class CocoDataset(BaseDataset):
    """Images and instances of a COCO ``instances_*.json`` file (mmdet 3.x data format).

    Each item of ``data_list``: ``img_path`` (str), ``img_id`` (int), ``width``, ``height``
    (int), ``seg_map_path`` (None) and ``instances``, a list of dicts with ``bbox``
    ([x1, y1, x2, y2] floats, clipped to the image), ``bbox_label`` (int in 0..C-1),
    ``ignore_flag`` (0, or 1 for ``iscrowd``) and ``mask`` (a list of polygons, or an RLE dict;
    absent when the annotation has no segmentation).

    Category ids (COCO's 1..90, or any) map to labels 0..C-1 in the order of
    ``metainfo['classes']``, matched by category name: ``self.cat_ids[label]`` is the category
    id of a label and ``self.cat2label`` the inverse. Annotations of categories not among the
    classes in use (a ``metainfo=dict(classes=...)`` subset) are left out.

    Dropped annotations: ``ignore``, zero ``area``, w < 1 or h < 1, and boxes outside the
    image. A box with a negative width or height is an error naming its annotation and image
    (mmdet drops it, and its object silently becomes background). Polygons with fewer than 3
    points are dropped from their polygon list; an annotation left with no polygon keeps its box
    (``mask`` is ``[]``) and ``LoadAnnotations(with_mask=True)`` marks it ignored (as mmdet
    does), so box-only training still uses it.

    Keypoints (``person_keypoints_*.json``): when the categories in use define ``keypoints``
    names (or ``metainfo`` gives ``keypoint_names``), every instance also has ``keypoints``,
    a (K, 3) float32 array of x, y, v (all zeros for an annotation without keypoints), and
    the metainfo gains ``keypoint_names``, ``skeleton`` (0-based index pairs), and
    ``flip_indices`` and ``sigmas`` (given in ``metainfo``; COCO's for the 17 COCO person
    keypoints), see :func:`~segdet.datasets.coco_keypoints.keypoint_metainfo`. These keys
    are filled in when the json is read (after ``lazy_init``). ``get_data_info`` adds
    ``flip_indices`` (for ``RandomFlip``) and ``keypoints_per_instance`` (K) to each item.
    A keypoint list whose length is not 3K, a visibility outside {0, 1, 2} and a
    ``flip_indices`` that is not a permutation swapping pairs are errors naming the
    annotation, image and value.

    Args:
        ann_file: The COCO json, relative to ``data_root``.
        metainfo: ``classes`` (a subset of the json's category names, in label order) and
            ``palette``; the palette follows a class subset by name.
        data_root: Root that relative ``ann_file`` and ``data_prefix`` paths are joined to.
        data_prefix: ``img``: directory the json's ``file_name`` entries are relative to.
        filter_cfg: In training only, ``filter_empty_gt`` drops images without a non-ignored
            instance, ``min_size`` those whose shorter side is below it and
            ``min_keypoints`` those with fewer labelled keypoints (v > 0, summed over the
            non-ignored instances) than it, as maskrcnn-benchmark's
            ``min_keypoints_per_image`` (10 in its COCO keypoint recipe; 1 drops only images
            without any labelled keypoint).
        indices: Use only these items (or the first ``indices`` items).
        serialize_data: Keep ``data_list`` pickled in one buffer (shared by workers).
        pipeline: Transforms applied to every item.
        test_mode: Test phase: nothing is filtered.
        lazy_init: Build ``data_list`` on first use instead of now.
        max_refetch: Tries to replace an item whose pipeline returned None.
        backend_args: mmengine file backend arguments (for ``ann_file``).
    """

    METAINFO: dict = dict(classes=COCO_CLASSES, palette=COCO_PALETTE)

    def __init__(self,
                 ann_file: str = '',
                 metainfo: Optional[dict] = None,
                 data_root: str = '',
                 data_prefix: dict = dict(img=''),
                 filter_cfg: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000,
                 backend_args: Optional[dict] = None) -> None:
        if 'img' not in data_prefix:
            raise ValueError(f"CocoDataset: data_prefix needs the key 'img' (the image "
                             f'directory), got {dict(data_prefix)}')
        unknown = sorted(set(filter_cfg or {}) - set(FILTER_KEYS))
        if unknown:
            raise ValueError(f'CocoDataset: unknown filter_cfg keys {unknown}; '
                             f'known: {FILTER_KEYS}')
        self.backend_args = dict(backend_args) if backend_args else None
        self.cat_ids: list[int] = []
        self.cat2label: dict[int, int] = {}
        self.num_keypoints = 0  # K; 0 when the data set has no keypoints
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(data_prefix),
            filter_cfg=filter_cfg,
            indices=indices,
            serialize_data=serialize_data,
            # segdet's registry, so segdet's transforms resolve without a default scope.
            pipeline=[TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline],
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        """METAINFO updated by ``metainfo``; a class subset without a palette of its own gets
        the colours of its classes (a new colour for a class COCO does not have)."""
        info = super()._load_metainfo(metainfo)
        classes = tuple(info['classes'])
        if len(set(classes)) != len(classes):
            raise ValueError(f'CocoDataset: metainfo classes repeat a name: {classes}')
        palette = list(info.get('palette') or [])
        if len(palette) != len(classes):
            if metainfo is not None and 'palette' in metainfo:
                raise ValueError(f'CocoDataset: metainfo palette has {len(palette)} colours '
                                 f'for {len(classes)} classes')
            own = dict(zip(cls.METAINFO['classes'], cls.METAINFO['palette']))
            extra = iter(distinct_palette(len(own) + len(classes))[len(own):])
            palette = [own[c] if c in own else next(extra) for c in classes]
        info.update(classes=classes, palette=palette)
        return info

    def _read_coco(self) -> COCO:
        try:
            return load_coco_json(self.ann_file, self.backend_args, owner=type(self).__name__)
        except FileNotFoundError as err:
            raise FileNotFoundError(
                f'CocoDataset: ann_file {self.ann_file!r} does not exist (data_root='
                f'{self.data_root!r})') from err

    def _map_categories(self, coco: COCO) -> None:
        """Set ``cat_ids`` and ``cat2label`` from the class names in metainfo."""
        ids_by_name: dict[str, list[int]] = defaultdict(list)
        for cat in coco.dataset.get('categories', []):
            ids_by_name[cat['name']].append(cat['id'])
        classes = self.metainfo['classes']
        missing = [c for c in classes if c not in ids_by_name]
        if missing:
            raise ValueError(
                f'CocoDataset: classes {missing} of metainfo are not categories of '
                f'{self.ann_file} (its categories: {sorted(ids_by_name)})')
        repeated = [c for c in classes if len(ids_by_name[c]) > 1]
        if repeated:
            raise ValueError(f'CocoDataset: {self.ann_file} has several categories named '
                             f'{repeated}: {[ids_by_name[c] for c in repeated]}')
        self.cat_ids = [ids_by_name[c][0] for c in classes]
        self.cat2label = {cat_id: label for label, cat_id in enumerate(self.cat_ids)}

    def _check_annotations(self, coco: COCO) -> None:
        """Every annotation must name a known category and image (no silent wrong labels)."""
        for ann in coco.dataset.get('annotations', []):
            if ann.get('category_id') not in coco.cats:
                raise ValueError(
                    f'CocoDataset: annotation id {ann.get("id")} of image id '
                    f'{ann.get("image_id")} in {self.ann_file} has category_id '
                    f'{ann.get("category_id")}, which is not in its categories '
                    f'{sorted(coco.cats)}')
            if ann.get('image_id') not in coco.imgs:
                raise ValueError(
                    f'CocoDataset: annotation id {ann.get("id")} in {self.ann_file} refers to '
                    f'image id {ann.get("image_id")}, which is not in its images')

    def _load_keypoint_metainfo(self, coco: COCO) -> None:
        """Set ``num_keypoints`` and the keypoint keys of metainfo (see the class docstring)."""
        where = f'CocoDataset: {self.ann_file}'
        categories = coco.dataset.get('categories', [])
        names = category_keypoint_names(categories, self.cat_ids, where)
        skeleton = next((c.get('skeleton') for c in categories
                         if c['id'] in self.cat_ids and c.get('keypoints')), None)
        info = keypoint_metainfo(self._metainfo, names, skeleton, where)
        self._metainfo.update(info)
        self.num_keypoints = len(info.get('keypoint_names', ()))
        if not self.num_keypoints:
            with_kps = next((a for a in coco.dataset.get('annotations', [])
                             if a.get('keypoints') and a['category_id'] in self.cat2label), None)
            if with_kps is not None:
                raise ValueError(
                    f'{where}: annotation id {with_kps.get("id")} of image id '
                    f'{with_kps.get("image_id")} has keypoints, but no category in use defines '
                    f'keypoint names; give metainfo=dict(keypoint_names=...)')

    def get_data_info(self, idx: int) -> dict:
        """The item ``idx`` (see the class docstring), with ``flip_indices`` and
        ``keypoints_per_instance`` for the transforms when the data set has keypoints."""
        info = super().get_data_info(idx)
        if self.num_keypoints:
            info['keypoints_per_instance'] = self.num_keypoints
            if 'flip_indices' in self._metainfo:
                info['flip_indices'] = list(self._metainfo['flip_indices'])
        return info

    def load_data_list(self) -> list[dict[str, Any]]:
        """One dict per image of the json, in its order (see the class docstring).

        Raises:
            FileNotFoundError: ``ann_file`` does not exist.
            ValueError: A class of metainfo is not a category, or an annotation names an
                unknown category or image, or has a malformed RLE or keypoint list, or the
                keypoint metainfo is inconsistent.
        """
        coco = self._read_coco()
        self._map_categories(coco)
        self._check_annotations(coco)
        self._load_keypoint_metainfo(coco)
        data_list = []
        for img_id, img in coco.imgs.items():
            missing = [k for k in ('file_name', 'width', 'height') if k not in img]
            if missing:
                raise ValueError(f'CocoDataset: image id {img_id} in {self.ann_file} has no '
                                 f'{missing}')
            width, height = int(img['width']), int(img['height'])
            instances = []
            for ann in coco.imgToAnns.get(img_id, []):
                if ann['category_id'] not in self.cat2label:
                    continue  # a category outside the classes in use
                try:
                    instance = parse_instance(ann, width, height)
                    if self.num_keypoints:
                        keypoints = parse_keypoints(ann.get('keypoints'), self.num_keypoints)
                        if instance is not None:
                            instance['keypoints'] = keypoints
                except ValueError as err:
                    raise ValueError(f'CocoDataset: annotation id {ann.get("id")} of image id '
                                     f'{img_id} in {self.ann_file}: {err}') from err
                if instance is not None:
                    instance['bbox_label'] = self.cat2label[ann['category_id']]
                    instances.append(instance)
            data_list.append(
                dict(img_path=osp.join(self.data_prefix['img'], img['file_name']), img_id=img_id,
                     width=width, height=height, seg_map_path=None, instances=instances))
        return data_list

    def filter_data(self) -> list[dict[str, Any]]:
        """In training, apply ``filter_cfg`` (see the class docstring); in test mode keep all.

        Raises:
            ValueError: The json has no image, or the filters leave none (the message counts
                the images each filter removes).
        """
        if not self.data_list:
            raise ValueError(f'{type(self).__name__}: ann_file {self.ann_file} has no images')
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        min_keypoints = self.filter_cfg.get('min_keypoints', 0)
        if min_keypoints and not self.num_keypoints:
            raise ValueError(f'{type(self).__name__}: filter_cfg min_keypoints={min_keypoints} '
                             f'but {self.ann_file} has no keypoint categories')
        small = [min(info['width'], info['height']) < min_size for info in self.data_list]
        empty = [filter_empty_gt and all(inst['ignore_flag'] for inst in info['instances'])
                 for info in self.data_list]
        few = [count_labelled_keypoints(info['instances']) < min_keypoints
               for info in self.data_list]
        kept = [info for info, s, e, f in zip(self.data_list, small, empty, few)
                if not (s or e or f)]
        if not kept:
            reasons = []
            if filter_empty_gt:
                reasons.append(
                    f'{sum(empty)} have no instance that is not ignored (filter_empty_gt=True; '
                    f'crowd and zero-area annotations, boxes under 1 pixel and categories '
                    f'outside metainfo classes {tuple(self.metainfo["classes"])} do not count)')
            if min_size:
                reasons.append(f'{sum(small)} have a shorter side below min_size={min_size}')
            if min_keypoints:
                reasons.append(f'{sum(few)} have fewer than min_keypoints={min_keypoints} '
                               f'labelled keypoints')
            raise ValueError(
                f'{type(self).__name__}: no image of ann_file {self.ann_file} is left after '
                f'filter_cfg={dict(self.filter_cfg)}: of its {len(self.data_list)} images, '
                f'{" and ".join(reasons)}')
        return kept
