"""Fixtures shared by the data set tests: small trees written into temporary directories."""
import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest

from segdet.datasets.synthetic import write_shapes_tree

SMALL_SHAPES = dict(num_train=4, num_val=2, size=64, seed=0)


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A shapes tree (4 train + 2 val images of 64x64), written once per session."""
    root = str(tmp_path_factory.mktemp('shapes'))
    write_shapes_tree(root, **SMALL_SHAPES)
    return root


def write_pair(root: Path, img_rel: str, seg_rel: str, seg_map: np.ndarray) -> None:
    """Write an image (a colour code of ``seg_map``) and its label map under ``root``."""
    for rel in (img_rel, seg_rel):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
    img = np.stack([seg_map * 3, seg_map * 5, seg_map * 7], axis=-1).astype(np.uint8)
    assert cv2.imwrite(str(root / img_rel), img)
    assert cv2.imwrite(str(root / seg_rel), seg_map.astype(np.uint8))


@pytest.fixture
def custom_root(tmp_path: Path) -> Path:
    """``img_dir/train/{b, a, sub/c}.png`` and ``ann_dir/train/...`` label maps of 6x8 pixels.

    Image ``n`` (a=0, b=1, c=2) has label map ``full(n)`` with a 255 corner.
    """
    for n, name in enumerate(['a', 'b', 'sub/c']):
        seg = np.full((6, 8), n, np.uint8)
        seg[0, 0] = 255
        write_pair(tmp_path, f'img_dir/train/{name}.png', f'ann_dir/train/{name}_label.png', seg)
    return tmp_path


@pytest.fixture
def make_pair():
    """The :func:`write_pair` helper, for tests that build their own trees."""
    return write_pair


@pytest.fixture
def relpath():
    """``relpath(path, root)``: ``path`` relative to ``root`` with '/' separators."""
    return lambda path, root: osp.relpath(path, root).replace(osp.sep, '/')
