"""Write the synthetic shapes data as a Cityscapes-style tree of PNG files.

Layout (``city`` is always ``shapes``)::

    root/meta.json
    root/leftImg8bit/{split}/shapes/{split}_{i:05d}_leftImg8bit.png
    root/gtFine/{split}/shapes/{split}_{i:05d}_gtFine_labelTrainIds.png

``meta.json`` is written last: its presence means the tree is complete, and its ``params``
tell whether an existing tree was made with the parameters asked for now.
"""
import os
import os.path as osp
import shutil
from collections.abc import Iterator
from typing import Any

import cv2
from mmengine.utils import ProgressBar

from .shapes import SHAPE_CLASSES, SHAPE_PALETTE, generate_sample
# Re-exported: these names were defined here before the COCO writer came to share them.
from .tree_meta import (META_FILE, SPLITS, inspect_written_tree, read_meta, remove_meta,
                        shapes_params, split_counts, write_meta)

__all__ = [
    'CITY', 'SPLITS', 'META_FILE', 'shapes_params', 'sample_paths', 'read_meta', 'inspect_tree',
    'remove_tree', 'write_shapes_tree'
]

CITY = 'shapes'
IMG_DIR, SEG_DIR = 'leftImg8bit', 'gtFine'
IMG_SUFFIX, SEG_SUFFIX = '_leftImg8bit.png', '_gtFine_labelTrainIds.png'


def sample_paths(root: str, split: str, index: int) -> tuple[str, str]:
    """(image path, label path) of image ``index`` of ``split`` under ``root``."""
    stem = f'{split}_{index:05d}'
    img = osp.join(root, IMG_DIR, split, CITY, stem + IMG_SUFFIX)
    seg = osp.join(root, SEG_DIR, split, CITY, stem + SEG_SUFFIX)
    return img, seg


def expected_paths(root: str, params: dict[str, Any]) -> Iterator[str]:
    """Every image and label path of a tree made with ``params``, split by split."""
    for split, count in split_counts(params).items():
        for index in range(count):
            yield from sample_paths(root, split, index)


def inspect_tree(root: str, params: dict[str, Any]) -> str:
    """What ``root`` holds compared with a tree made with ``params``.

    Returns:
        'absent': no such directory, or an empty one.
        'same': a complete tree made with the same parameters.
        'different': a tree made with other parameters (or another generator version).
        'incomplete': meta.json matches but some image or label files are missing.
        'foreign': files but no meta.json (someone else's data, or an interrupted run).
    """
    return inspect_written_tree(root, params, expected_paths(root, params))


def remove_tree(root: str) -> None:
    """Delete what a previous run wrote under ``root`` (and nothing else)."""
    remove_meta(root)  # first, so an interrupted rewrite never looks complete
    for top in (IMG_DIR, SEG_DIR):
        for split in SPLITS:
            shutil.rmtree(osp.join(root, top, split, CITY), ignore_errors=True)


def write_shapes_tree(root: str, num_train: int = 400, num_val: int = 100, size: int = 128,
                      seed: int = 0, show_progress: bool = False) -> dict[str, Any]:
    """Generate the images and label maps of both splits and write them under ``root``.

    Existing files of the same names are overwritten; call :func:`remove_tree` first to drop
    files of a larger earlier tree.

    Args:
        root: Output directory (created if needed).
        num_train, num_val: Number of images per split.
        size: Image side in pixels.
        seed: Data set seed; the same seed gives byte-identical files.
        show_progress: Print a progress bar to stdout.

    Returns:
        The content written to ``meta.json``.
    """
    params = shapes_params(num_train, num_val, size, seed)
    counts = split_counts(params)
    for split in SPLITS:
        for top in (IMG_DIR, SEG_DIR):
            os.makedirs(osp.join(root, top, split, CITY), exist_ok=True)
    bar = ProgressBar(sum(counts.values())) if show_progress else None
    for split, count in counts.items():
        for index in range(count):
            sample = generate_sample(seed, split, index, size)
            img_path, seg_path = sample_paths(root, split, index)
            # PNG is lossless, so the label map read back equals the generated one.
            for path, array in ((img_path, sample.img), (seg_path, sample.seg_map)):
                if not cv2.imwrite(path, array):
                    raise OSError(f'cv2.imwrite could not write {path}')
            if bar is not None:
                bar.update()
    if bar is not None:
        print()
    meta = dict(
        params=params,
        classes=list(SHAPE_CLASSES),
        palette=SHAPE_PALETTE,
        splits=counts,
        layout=dict(img=f'{IMG_DIR}/{{split}}/{CITY}/{{split}}_{{i:05d}}{IMG_SUFFIX}',
                    seg_map=f'{SEG_DIR}/{{split}}/{CITY}/{{split}}_{{i:05d}}{SEG_SUFFIX}'))
    write_meta(root, meta)
    return meta
