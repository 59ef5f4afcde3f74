"""The synthetic shapes generator: determinism, the issue's numbers, and on-disk consistency."""
import filecmp
import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from segdet.datasets.synthetic import (generate_sample, read_meta, sample_paths, shape_mask,
                                       size_range, write_shapes_tree)
from segdet.datasets.synthetic.shapes import (CIRCLE, MIN_VISIBLE_FRACTION, RECTANGLE, TRIANGLE,
                                              ShapeSpec)

SIZE = 128


@pytest.fixture(scope='module')
def samples() -> list:
    return [generate_sample(0, 'train', i, SIZE) for i in range(60)]


def tree_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob('*.png'))


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    args = dict(num_train=3, num_val=2, size=64)
    for name, seed in (('a', 0), ('b', 0), ('c', 1)):
        write_shapes_tree(str(tmp_path / name), seed=seed, **args)
    files = tree_files(tmp_path / 'a')
    assert len(files) == 2 * (3 + 2) and files == tree_files(tmp_path / 'c')
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / 'a', tmp_path / 'b', files, shallow=False)
    assert len(match) == len(files) and not mismatch and not errors
    match, mismatch, _ = filecmp.cmpfiles(tmp_path / 'a', tmp_path / 'c', files, shallow=False)
    image_files = [f for f in files if 'leftImg8bit' in f]
    assert set(image_files) <= set(mismatch)  # another seed changes every image


def test_splits_and_images_use_independent_streams() -> None:
    train, val = generate_sample(0, 'train', 0, 64), generate_sample(0, 'val', 0, 64)
    assert not np.array_equal(train.img, val.img)
    # An image does not depend on how many images come before it or are asked for.
    again = generate_sample(0, 'train', 0, 64)
    np.testing.assert_array_equal(train.img, again.img)
    np.testing.assert_array_equal(train.seg_map, again.seg_map)


def test_one_to_four_shapes_of_three_classes(samples: list) -> None:
    counts = Counter(len(s.instances) for s in samples)
    assert set(counts) == {1, 2, 3, 4}
    labels = Counter(inst.label for s in samples for inst in s.instances)
    assert set(labels) == {CIRCLE, RECTANGLE, TRIANGLE}
    for s in samples:
        assert set(np.unique(s.seg_map)) <= {0, 1, 2, 3}
        assert s.img.shape == (SIZE, SIZE, 3) and s.img.dtype == np.uint8
        assert s.seg_map.shape == (SIZE, SIZE) and s.seg_map.dtype == np.uint8


def test_sizes_are_10_to_40_percent_of_the_side(samples: list) -> None:
    assert size_range(128) == (13, 51)  # ceil(12.8), floor(51.2)
    for s in samples:
        for inst in s.instances:
            spec = inst.spec
            full = shape_mask(spec, SIZE)
            ys, xs = np.nonzero(full)
            # The drawn shape touches its box on all four sides.
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == spec.bbox
            assert 0.1 * SIZE <= spec.w <= 0.4 * SIZE and 0.1 * SIZE <= spec.h <= 0.4 * SIZE
            if spec.label == CIRCLE:
                assert spec.w == spec.h


@pytest.mark.parametrize('direction', ['up', 'down', 'left', 'right'])
def test_triangle_fills_its_box(direction: str) -> None:
    spec = ShapeSpec(TRIANGLE, x=3, y=5, w=20, h=11, colour=(0, 0, 0), direction=direction,
                     apex=0.3)
    mask = shape_mask(spec, 40)
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (3, 5, 23, 16)
    assert 0.4 < mask.sum() / (20 * 11) < 0.65  # about half of its box


def test_label_map_is_the_stack_of_visible_masks(samples: list) -> None:
    overlapped = 0
    for s in samples:
        union = np.zeros((SIZE, SIZE), np.int64)
        for inst in s.instances:
            full = shape_mask(inst.spec, SIZE)
            assert not (inst.mask & ~full).any()  # visible part of the shape itself
            assert inst.mask.sum() >= MIN_VISIBLE_FRACTION * full.sum()
            overlapped += int(inst.mask.sum() < full.sum())
            assert (s.seg_map[inst.mask] == inst.label).all()
            union += inst.mask
        assert union.max() <= 1  # masks are disjoint
        np.testing.assert_array_equal(union.astype(bool), s.seg_map > 0)
        # The last shape drawn is never covered.
        last = s.instances[-1]
        np.testing.assert_array_equal(last.mask, shape_mask(last.spec, SIZE))
    assert overlapped > 0  # overlaps do happen


def test_image_shows_the_shapes_on_a_noisy_background(samples: list) -> None:
    for s in samples:
        for inst in s.instances:
            mean = s.img[inst.mask].reshape(-1, 3).mean(axis=0)
            # Pixel noise (std 8) averages out; clipping at 0/255 biases by at most ~3.2.
            assert np.abs(mean - np.array(inst.spec.colour)).max() < 5
        background = s.img[s.seg_map == 0].astype(np.float64)
        assert background.std(axis=0).min() > 5  # textured, not flat


def test_files_on_disk_equal_the_arrays(tmp_path: Path) -> None:
    meta = write_shapes_tree(str(tmp_path), num_train=2, num_val=1, size=64, seed=3)
    assert read_meta(str(tmp_path)) == meta
    assert meta['params'] == dict(num_train=2, num_val=1, size=64, seed=3, generator_version=1)
    assert meta['classes'] == ['background', 'circle', 'rectangle', 'triangle']
    for split, index in (('train', 0), ('train', 1), ('val', 0)):
        sample = generate_sample(3, split, index, 64)
        img_path, seg_path = sample_paths(str(tmp_path), split, index)
        assert img_path == os.path.join(str(tmp_path), 'leftImg8bit', split, 'shapes',
                                        f'{split}_{index:05d}_leftImg8bit.png')
        assert seg_path == os.path.join(str(tmp_path), 'gtFine', split, 'shapes',
                                        f'{split}_{index:05d}_gtFine_labelTrainIds.png')
        np.testing.assert_array_equal(cv2.imread(img_path, cv2.IMREAD_UNCHANGED), sample.img)
        np.testing.assert_array_equal(cv2.imread(seg_path, cv2.IMREAD_UNCHANGED), sample.seg_map)
