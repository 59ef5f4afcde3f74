"""Write the synthetic shapes data as a COCO instances data set (detection and instance masks).

The images are those of the Cityscapes-style tree (same seed, split, index and size give the
same pixels, see :func:`~segdet.datasets.synthetic.shapes.generate_sample`). Layout::

    root/meta.json
    root/{split}/{split}_{i:05d}.png             # lossless PNG, BGR as generated
    root/annotations/instances_{split}.json

Each JSON file holds ``images`` (id, file_name relative to ``root/{split}``, width, height),
``annotations`` and ``categories`` (1 circle, 2 rectangle, 3 triangle, supercategory 'shape').
Image and annotation ids start at 1; annotation ids are unique within a file. One annotation
per drawn shape, from its *visible* mask (later shapes cover earlier ones):

- ``bbox``: [x, y, w, h], the tight box of the visible pixels (``w`` counts columns).
- ``area``: the number of visible pixels.
- ``segmentation``: polygons that trace the outline of the visible pixels (see
  :func:`mask_to_polygons`); they rasterise back, with pycocotools, to exactly the mask.
  Where no polygon list can (a mask with a hole: COCO polygons have none), the segmentation is
  a compressed RLE dict ``{'size': [h, w], 'counts': str}`` instead, still with ``iscrowd`` 0.
  pycocotools and mmdet's ``LoadAnnotations(poly2mask=True)`` read both forms.
- ``iscrowd``: always 0.

``meta.json`` is written last, as by the Cityscapes writer, so the same inspect / force logic
applies; its ``params`` add ``format='coco'`` so a tree of one format is never taken for the
other.
"""
import json
import os
import os.path as osp
from collections.abc import Callable, Iterator
from typing import Any, Optional, Union

import cv2
import numpy as np
from mmengine.utils import ProgressBar
from pycocotools import mask as mask_utils

from .shapes import GENERATOR_VERSION, ShapesSample, generate_sample
from .tree_meta import (SPLITS, inspect_written_tree, remove_meta, shapes_params, split_counts,
                        write_meta)

SHAPES_COCO_CLASSES = ('circle', 'rectangle', 'triangle')
SUPERCATEGORY = 'shape'
ANN_DIR = 'annotations'
IMG_SUFFIX = '.png'
# Version of the annotation encoding (polygon tracing, RLE fallback, JSON fields): bump it when
# the JSON files change for the same images, so existing trees are no longer taken as current.
COCO_WRITER_VERSION = 1

Segmentation = Union[list[list[float]], dict[str, Any]]
#: ``(sample, image_id, first_ann_id) -> annotations`` of one generated image.
Annotator = Callable[[ShapesSample, int, int], list[dict[str, Any]]]


def coco_params(num_train: int = 400, num_val: int = 100, size: int = 128,
                seed: int = 0) -> dict[str, Any]:
    """The parameters that fully determine a COCO tree (:func:`shapes_params` plus the format)."""
    params = shapes_params(num_train, num_val, size, seed)
    params.update(format='coco', coco_writer_version=COCO_WRITER_VERSION)
    return params


def coco_categories() -> list[dict[str, Any]]:
    """The ``categories`` entries: ids 1..3 equal the generator's labels (0 is background)."""
    return [dict(id=i + 1, name=name, supercategory=SUPERCATEGORY)
            for i, name in enumerate(SHAPES_COCO_CLASSES)]


def coco_image_path(root: str, split: str, index: int) -> str:
    """Path of image ``index`` of ``split`` under ``root``."""
    return osp.join(root, split, f'{split}_{index:05d}{IMG_SUFFIX}')


def coco_ann_path(root: str, split: str) -> str:
    """Path of the annotation file of ``split`` under ``root``."""
    return osp.join(root, ANN_DIR, f'instances_{split}.json')


def mask_bbox(mask: np.ndarray) -> list[float]:
    """Tight COCO box of a mask.

    Args:
        mask: (H, W) bool, at least one pixel set.

    Returns:
        [x, y, w, h] floats: top-left pixel and the number of columns / rows spanned.
    """
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        raise ValueError('mask_bbox: the mask is empty')
    x1, y1 = int(xs.min()), int(ys.min())
    return [float(x1), float(y1), float(xs.max() - x1 + 1), float(ys.max() - y1 + 1)]


def outline_vertices(points: np.ndarray) -> np.ndarray:
    """Keep only the corners of a closed pixel-edge path.

    Args:
        points: (N, 2) int (x, y) path whose consecutive points are at most one step apart.

    Returns:
        (M, 2) int: repeated points and points inside straight runs removed.
    """
    points = points[np.any(points != np.roll(points, 1, axis=0), axis=1)]
    if len(points) < 3:
        return points
    steps = np.roll(points, -1, axis=0) - points
    turns = np.any(steps != np.roll(steps, 1, axis=0), axis=1)
    return points[turns]


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """Polygons tracing the outline of a mask's pixels, one per outer contour.

    ``cv2.findContours`` follows pixel centres, so its contour of an ``n``-pixel-wide shape is
    ``n - 1`` wide and a COCO rasteriser drops a row and a column (a 7x7 square comes back as
    6x6). Tracing the mask upsampled 2x and mapping sub-pixel ``u`` to pixel corner
    ``(u + 1) // 2`` instead gives the outline of the pixel squares (corners in COCO's
    convention, pixel ``i`` spans ``[i, i + 1)``), whose area is the pixel count. Holes are not
    traced (``RETR_EXTERNAL``); contours of fewer than 3 corners are dropped.

    Args:
        mask: (H, W) bool or uint8 mask.

    Returns:
        Flat [x0, y0, x1, y1, ...] float lists, possibly none.
    """
    upsampled = np.repeat(np.repeat(mask.astype(np.uint8), 2, axis=0), 2, axis=1)
    contours, _ = cv2.findContours(upsampled, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    polygons = []
    for contour in contours:
        corners = outline_vertices((contour.reshape(-1, 2) + 1) // 2)
        if len(corners) >= 3:
            polygons.append(corners.astype(np.float64).ravel().tolist())
    return polygons


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE of a mask, JSON-ready: ``{'size': [h, w], 'counts': str}``."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))


def mask_segmentation(mask: np.ndarray) -> Segmentation:
    """The ``segmentation`` entry of a mask.

    Args:
        mask: (H, W) bool mask with at least one pixel set.

    Returns:
        Polygons (:func:`mask_to_polygons`) when they rasterise back, with pycocotools, to
        exactly the mask, as every hole-free mask does; else the compressed RLE
        (:func:`mask_to_rle`).
    """
    polygons = mask_to_polygons(mask)
    rle = mask_to_rle(mask)
    if polygons:
        height, width = mask.shape
        traced = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
        # Run-length codes are canonical: equal codes, equal masks.
        if traced['counts'].decode('ascii') == rle['counts']:
            return polygons
    return rle


def sample_annotations(sample: ShapesSample, image_id: int,
                       first_ann_id: int) -> list[dict[str, Any]]:
    """COCO annotations of one generated image, in drawing order.

    Args:
        sample: The generated image and its instances.
        image_id: Id of the image entry.
        first_ann_id: Id of the first annotation; the others follow.

    Returns:
        One dict per instance with a non-empty visible mask (all of them, by construction).
    """
    annotations = []
    for inst in sample.instances:
        if not inst.mask.any():
            continue
        annotations.append(
            dict(id=first_ann_id + len(annotations), image_id=image_id,
                 category_id=int(inst.label), bbox=mask_bbox(inst.mask),
                 area=float(inst.mask.sum()), iscrowd=0,
                 segmentation=mask_segmentation(inst.mask)))
    return annotations


def expected_paths(root: str, params: dict[str, Any],
                   ann_path: Callable[[str, str], str] = coco_ann_path) -> Iterator[str]:
    """Every annotation file (named by ``ann_path``) and image of a COCO tree of ``params``."""
    for split, count in split_counts(params).items():
        yield ann_path(root, split)
        for index in range(count):
            yield coco_image_path(root, split, index)


def inspect_coco_tree(root: str, params: dict[str, Any]) -> str:
    """What ``root`` holds compared with a COCO tree made with ``params`` (:func:`coco_params`).

    Returns:
        'absent', 'same', 'different', 'incomplete' or 'foreign', as
        :func:`~segdet.datasets.synthetic.tree_meta.inspect_written_tree`.
    """
    return inspect_written_tree(root, params, expected_paths(root, params))


def remove_coco_tree(root: str,
                     ann_path: Callable[[str, str], str] = coco_ann_path) -> None:
    """Delete what a previous COCO run wrote under ``root`` (and nothing else).

    Only files named as this writer names them go; their directories are removed when that
    leaves them empty.

    Args:
        root: The tree's directory.
        ann_path: ``(root, split) -> path`` of a split's annotation file.
    """
    remove_meta(root)  # first, so an interrupted rewrite never looks complete
    for split in SPLITS:
        ann = ann_path(root, split)
        if osp.isfile(ann):
            os.remove(ann)
        img_dir = osp.dirname(coco_image_path(root, split, 0))
        if osp.isdir(img_dir):
            prefix = f'{split}_'
            for name in os.listdir(img_dir):
                ours = name.startswith(prefix) and name.endswith(IMG_SUFFIX)
                if ours and name[len(prefix):-len(IMG_SUFFIX)].isdigit():
                    os.remove(osp.join(img_dir, name))
    for path in [osp.join(root, split) for split in SPLITS] + [osp.join(root, ANN_DIR)]:
        if osp.isdir(path) and not os.listdir(path):
            os.rmdir(path)


def write_coco_tree(root: str, params: dict[str, Any], ann_path: Callable[[str, str], str],
                    annotate: Annotator, categories: list[dict[str, Any]],
                    show_progress: bool = False, title: str = 'segdet synthetic shapes',
                    extra_meta: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Generate both splits of ``params``, write their images and COCO annotation files, then
    ``meta.json`` (last: its presence marks a complete tree).

    What the COCO writers share (instances here, keypoints in
    :mod:`~segdet.datasets.synthetic.coco_keypoints_writer`).

    Args:
        root: Output directory (created if needed).
        params: :func:`coco_params`-style parameters (``num_train``, ``num_val``, ``size``,
            ``seed``, ``format``).
        ann_path: ``(root, split) -> path`` of a split's annotation file.
        annotate: ``(sample, image_id, first_ann_id) -> annotations`` of one image.
        categories: The ``categories`` entries.
        show_progress: Print a progress bar to stdout.
        title: Start of each file's ``info.description``.
        extra_meta: More ``meta.json`` entries, after ``categories``.

    Returns:
        The content written to ``meta.json``: ``params``, ``classes`` and ``categories``
        (from ``categories``), ``extra_meta``, ``splits``, ``stats`` (per split: ``images``,
        ``instances`` and ``rle_instances`` counts) and ``layout``.
    """
    counts = split_counts(params)
    size, seed = int(params['size']), int(params['seed'])
    os.makedirs(osp.dirname(ann_path(root, SPLITS[0])), exist_ok=True)
    for split in SPLITS:
        os.makedirs(osp.join(root, split), exist_ok=True)
    bar = ProgressBar(sum(counts.values())) if show_progress else None
    stats: dict[str, dict[str, Any]] = {}
    for split, count in counts.items():
        images: list[dict[str, Any]] = []
        annotations: list[dict[str, Any]] = []
        for index in range(count):
            sample = generate_sample(seed, split, index, size)
            path = coco_image_path(root, split, index)
            if not cv2.imwrite(path, sample.img):  # PNG: lossless, reads back equal
                raise OSError(f'cv2.imwrite could not write {path}')
            image_id = index + 1
            images.append(dict(id=image_id, file_name=osp.basename(path), width=size,
                               height=size))
            annotations += annotate(sample, image_id, len(annotations) + 1)
            if bar is not None:
                bar.update()
        dataset = dict(
            info=dict(description=(f'{title}, {split} split: {count} images of '
                                   f'{size}x{size}, seed {seed}'),
                      version=(f'generator {GENERATOR_VERSION}, '
                               f'coco writer {COCO_WRITER_VERSION}')),
            licenses=[], images=images, annotations=annotations, categories=categories)
        with open(ann_path(root, split), 'w', encoding='utf-8') as f:
            json.dump(dataset, f, separators=(',', ':'))
        stats[split] = dict(
            images=count, instances=len(annotations),
            rle_instances=sum(isinstance(a['segmentation'], dict) for a in annotations))
    if bar is not None:
        print()
    meta = dict(
        params=params,
        classes=[c['name'] for c in categories],
        categories=categories,
        **(extra_meta or {}),
        splits=counts,
        stats=stats,
        # the annotation path of a split named '{split}', relative to the root
        layout=dict(img=f'{{split}}/{{split}}_{{i:05d}}{IMG_SUFFIX}',
                    ann=ann_path('', '{split}')))
    write_meta(root, meta)
    return meta


def write_shapes_coco(root: str, num_train: int = 400, num_val: int = 100, size: int = 128,
                      seed: int = 0, show_progress: bool = False) -> dict[str, Any]:
    """Generate both splits and write their images and COCO annotation files under ``root``.

    Existing files of the same names are overwritten; call :func:`remove_coco_tree` first to
    drop images of a larger earlier tree.

    Args:
        root: Output directory (created if needed).
        num_train, num_val: Number of images per split.
        size: Image side in pixels.
        seed: Data set seed; the same seed gives byte-identical files.
        show_progress: Print a progress bar to stdout.

    Returns:
        The content written to ``meta.json``.
    """
    params = coco_params(num_train, num_val, size, seed)
    return write_coco_tree(root, params, coco_ann_path, sample_annotations, coco_categories(),
                           show_progress)
