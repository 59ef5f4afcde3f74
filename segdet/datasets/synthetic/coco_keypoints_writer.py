"""Write the synthetic shapes data as a COCO keypoints data set: the rectangles and their corners.

The images are those of the other shapes trees (same seed, split, index and size, same
pixels). The annotations are COCO person-keypoints style with one category, ``rectangle``:
every drawn rectangle is an instance (circles and triangles stay in the images as
distractors), with four keypoints, its corners, named in the image frame: ``top_left``,
``top_right``, ``bottom_right``, ``bottom_left``. A horizontal mirror turns a top-left
corner into a top-right one, so the names form two left/right pairs (``flip_indices``
(1, 0, 3, 2)) as a person's wrists do: ``RandomFlip`` must swap them. (Only for horizontal
flips: a vertical flip of these image-frame names would need (3, 2, 1, 0), which
``flip_indices`` cannot express; the demo flips horizontally only.)

(Why not the triangles' vertices: a triangle with its apex near a corner of its box is,
drawn, the same right triangle as one of another orientation, whose vertices would carry
other names: the names would not follow from the pixels.)

Layout::

    root/meta.json
    root/{split}/{split}_{i:05d}.png
    root/annotations/rectangle_keypoints_{split}.json

Each annotation has the instance fields of :mod:`~segdet.datasets.synthetic.coco_writer`
(``bbox``, ``area``, ``segmentation`` of the visible pixels, ``iscrowd`` 0) plus
``keypoints`` [x1, y1, v1, ..., x4, y4, v4] and ``num_keypoints`` (4). A corner is the centre
of the rectangle's corner pixel, ``x + 0.5`` (continuous coordinates, as segdet's keypoint
transforms and decoding use them; a loader that adds 0.5 to COCO's keypoints, as
Detectron2's, would shift these by half a pixel), with visibility 2 when that pixel shows the
rectangle and 1 when a later shape covers it (labelled, not visible). The categories entry carries ``keypoints`` (the names) and ``skeleton`` (the four
sides).
"""
import os.path as osp
from typing import Any

import numpy as np

from .coco_writer import (ANN_DIR, expected_paths, mask_bbox, mask_segmentation,
                          remove_coco_tree, write_coco_tree)
from .shapes import RECTANGLE, ShapeSpec, ShapesSample
from .tree_meta import inspect_written_tree, shapes_params

KEYPOINT_NAMES = ('top_left', 'top_right', 'bottom_right', 'bottom_left')
#: Keypoint i of a mirrored rectangle is keypoint FLIP_INDICES[i] of the original.
FLIP_INDICES = (1, 0, 3, 2)
#: 1-based pairs, as COCO's ``skeleton``: the rectangle's sides.
SKELETON = ((1, 2), (2, 3), (3, 4), (4, 1))
#: The OKS sigma of each corner in the demo configs. COCO's range from 0.025 (eyes) to 0.107
#: (hips) by how precisely people place them; corners are sharp points, but the rectangles
#: are small (10-40 % of a 128-pixel image), so a tolerance between the eyes' and the
#: shoulders' (0.079).
CORNER_SIGMA = 0.05
# Version of the keypoint fields: bump it when they change for the same images.
KEYPOINTS_WRITER_VERSION = 1


def keypoint_params(num_train: int = 400, num_val: int = 100, size: int = 128,
                    seed: int = 0) -> dict[str, Any]:
    """The parameters that fully determine a keypoints tree."""
    params = shapes_params(num_train, num_val, size, seed)
    params.update(format='keypoints', keypoints_writer_version=KEYPOINTS_WRITER_VERSION)
    return params


def keypoint_categories() -> list[dict[str, Any]]:
    """The one ``categories`` entry, with keypoint names and skeleton."""
    return [dict(id=1, name='rectangle', supercategory='shape', keypoints=list(KEYPOINT_NAMES),
                 skeleton=[list(pair) for pair in SKELETON])]


def keypoint_ann_path(root: str, split: str) -> str:
    """Path of the keypoint annotation file of ``split`` under ``root``."""
    return osp.join(root, ANN_DIR, f'rectangle_keypoints_{split}.json')


def rectangle_corners(spec: ShapeSpec) -> np.ndarray:
    """A rectangle's corner pixels in :data:`KEYPOINT_NAMES` order.

    Args:
        spec: A rectangle.

    Returns:
        (4, 2) int (x, y): top-left, top-right, bottom-right, bottom-left pixel.
    """
    x1, y1, x2, y2 = spec.x, spec.y, spec.x + spec.w - 1, spec.y + spec.h - 1
    return np.array([(x1, y1), (x2, y1), (x2, y2), (x1, y2)], np.int64)


def rectangle_annotations(sample: ShapesSample, image_id: int,
                          first_ann_id: int) -> list[dict[str, Any]]:
    """COCO keypoint annotations of the rectangles of one generated image, in drawing order.

    Args:
        sample: The generated image and its instances.
        image_id: Id of the image entry.
        first_ann_id: Id of the first annotation; the others follow.

    Returns:
        One dict per rectangle (module docstring for the fields).
    """
    annotations = []
    for inst in sample.instances:
        if inst.label != RECTANGLE or not inst.mask.any():
            continue
        keypoints: list[float] = []
        for x, y in rectangle_corners(inst.spec):
            keypoints += [float(x) + 0.5, float(y) + 0.5, 2 if inst.mask[y, x] else 1]
        annotations.append(
            dict(id=first_ann_id + len(annotations), image_id=image_id, category_id=1,
                 bbox=mask_bbox(inst.mask), area=float(inst.mask.sum()), iscrowd=0,
                 segmentation=mask_segmentation(inst.mask), keypoints=keypoints,
                 num_keypoints=len(KEYPOINT_NAMES)))
    return annotations


def inspect_keypoint_tree(root: str, params: dict[str, Any]) -> str:
    """What ``root`` holds compared with a keypoints tree made with ``params``
    ('absent', 'same', 'different', 'incomplete' or 'foreign')."""
    return inspect_written_tree(root, params, expected_paths(root, params, keypoint_ann_path))


def remove_keypoint_tree(root: str) -> None:
    """Delete what a previous keypoints run wrote under ``root`` (and nothing else)."""
    remove_coco_tree(root, keypoint_ann_path)


def write_shapes_keypoints(root: str, num_train: int = 400, num_val: int = 100,
                           size: int = 128, seed: int = 0,
                           show_progress: bool = False) -> dict[str, Any]:
    """Generate both splits and write their images and keypoint annotation files.

    Args:
        root: Output directory (created if needed).
        num_train, num_val: Number of images per split.
        size: Image side in pixels.
        seed: Data set seed; the same seed gives byte-identical files.
        show_progress: Print a progress bar to stdout.

    Returns:
        The content written to ``meta.json``.
    """
    params = keypoint_params(num_train, num_val, size, seed)
    return write_coco_tree(root, params, keypoint_ann_path, rectangle_annotations,
                           keypoint_categories(), show_progress,
                           title='segdet synthetic shapes, rectangle keypoints',
                           extra_meta=dict(flip_indices=list(FLIP_INDICES)))
