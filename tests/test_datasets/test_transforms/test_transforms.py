"""RandomCrop, PhotoMetricDistortion and ResizeShortestEdge against hand-computed results."""
import cv2
import numpy as np
import pytest

import segdet.datasets.transforms.transforms as seg_transforms
from segdet.datasets.transforms import PhotoMetricDistortion, RandomCrop, ResizeShortestEdge
from segdet.datasets.transforms.transforms import (largest_class_ratio, scale_and_shift,
                                                   scale_saturation, shift_hue)
from segdet.registry import TRANSFORMS


def coded_results(h: int, w: int, seg: np.ndarray) -> dict:
    """An image whose pixels encode their own (y, x), and a label map."""
    ys, xs = np.mgrid[:h, :w]
    img = np.stack([ys, xs, np.zeros_like(ys)], axis=-1).astype(np.uint8)
    return dict(img=img, gt_seg_map=seg, seg_fields=['gt_seg_map'], img_shape=(h, w))


# --------------------------------------------------------------------------- RandomCrop
def test_largest_class_ratio_ignores_ignore_index() -> None:
    seg = np.array([[0, 0, 1], [255, 255, 1]])
    assert largest_class_ratio(seg, 255) == (0.5, 2)
    assert largest_class_ratio(np.array([[3, 3, 255]]), 255) == (1.0, 1)
    assert largest_class_ratio(np.full((2, 2), 255), 255) == (1.0, 0)


def test_crop_keeps_image_and_labels_aligned() -> None:
    seg = np.arange(40 * 50).reshape(40, 50) % 7
    np.random.seed(0)
    out = RandomCrop(crop_size=(16, 24))(coded_results(40, 50, seg.copy()))
    y1, x1 = int(out['img'][0, 0, 0]), int(out['img'][0, 0, 1])
    assert out['img'].shape == (16, 24, 3) and out['img_shape'] == (16, 24)
    np.testing.assert_array_equal(out['gt_seg_map'], seg[y1:y1 + 16, x1:x1 + 24])
    np.testing.assert_array_equal(out['img'][..., 1], np.arange(x1, x1 + 24)[None].repeat(16, 0))


def test_crop_larger_than_image_keeps_the_image() -> None:
    out = RandomCrop(crop_size=64)(coded_results(10, 20, np.zeros((10, 20), np.uint8)))
    assert out['img'].shape == (10, 20, 3) and out['gt_seg_map'].shape == (10, 20)


def test_cat_max_ratio_takes_the_first_acceptable_window(monkeypatch) -> None:
    # Label map 4 x 10: columns 0-5 class 0, 6-7 class 1, 8-9 ignore.
    seg = np.zeros((4, 10), np.uint8)
    seg[:, 6:8] = 1
    seg[:, 8:] = 255
    boxes = [
        (0, 4, 0, 4),  # only class 0 -> rejected
        (0, 4, 6, 10),  # class 1 and ignore only: one class -> rejected
        (0, 4, 2, 6),  # only class 0 -> rejected
        (0, 4, 1, 7),  # 5 columns of 0 and 1 of class 1: 5/6 >= 0.75 -> rejected
        (0, 4, 4, 8),  # 2 and 2 columns: 0.5 < 0.75 -> taken
        (0, 4, 0, 2),
    ]
    calls = iter(boxes)
    monkeypatch.setattr(seg_transforms, 'random_crop_box', lambda *args: next(calls))
    out = RandomCrop(crop_size=(4, 4), cat_max_ratio=0.75)(coded_results(4, 10, seg))
    np.testing.assert_array_equal(out['gt_seg_map'], seg[:, 4:8])
    assert int(out['img'][0, 0, 1]) == 4


def test_cat_max_ratio_gives_up_after_ten_retries(monkeypatch) -> None:
    seg = np.zeros((4, 10), np.uint8)
    drawn = []

    def box(*args):
        drawn.append(len(drawn))
        return 0, 4, len(drawn) - 1, len(drawn) + 3

    monkeypatch.setattr(seg_transforms, 'random_crop_box', box)
    out = RandomCrop(crop_size=(4, 4), cat_max_ratio=0.75)(coded_results(4, 20, seg))
    assert len(drawn) == 11  # one window, then ten redraws; the last is kept unchecked
    assert int(out['img'][0, 0, 1]) == 10


def test_cat_max_ratio_statistics_with_a_seed() -> None:
    # 20 x 100 map: class 1 only in columns 90-99; windows of 20 x 10 are acceptable
    # (two classes, class 0 < 75%) only when x1 is in 83..89.
    seg = np.zeros((20, 100), np.uint8)
    seg[:, 90:] = 1
    np.random.seed(0)
    starts = []
    for _ in range(200):
        out = RandomCrop(crop_size=(20, 10), cat_max_ratio=0.75)(coded_results(20, 100, seg))
        starts.append(int(out['img'][0, 0, 1]))
    good = np.mean([83 <= x <= 89 for x in starts])
    # P(accepted within 11 draws) = 1 - (84/91)^10 ~= 0.55; plus ~7/91 for the unchecked last one.
    assert 0.45 < good < 0.70


def test_random_crop_rejects_bad_size() -> None:
    with pytest.raises(ValueError, match='crop_size'):
        RandomCrop(crop_size=(0, 4))


# --------------------------------------------------------------------------- photometric
def test_pixel_functions_by_hand() -> None:
    img = np.array([[[10, 250, 100]]], np.uint8)
    np.testing.assert_array_equal(scale_and_shift(img, beta=10), [[[20, 255, 110]]])
    np.testing.assert_array_equal(scale_and_shift(img, alpha=0.5), [[[5, 125, 50]]])
    np.testing.assert_array_equal(scale_and_shift(img, beta=-20.7), [[[0, 229, 79]]])  # trunc
    red = np.array([[[0, 0, 255]]], np.uint8)  # BGR
    np.testing.assert_array_equal(shift_hue(red, 60), [[[0, 255, 0]]])  # 120 degrees: green
    np.testing.assert_array_equal(shift_hue(red, -60), [[[255, 0, 0]]])  # blue (wraps mod 180)
    np.testing.assert_array_equal(scale_saturation(red, 0.0), [[[255, 255, 255]]])


def test_distortion_composes_the_steps_in_order(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(8, 9, 3), dtype=np.uint8)
    # Every coin comes up 1 (apply; contrast first), every range is a single value.
    monkeypatch.setattr(np.random, 'randint', lambda low, high=None: 1)
    t = PhotoMetricDistortion(brightness_delta=0, contrast_range=(1.3, 1.3),
                              saturation_range=(0.6, 0.6), hue_delta=5)
    expected = shift_hue(scale_saturation(scale_and_shift(scale_and_shift(img), 1.3), 0.6), 1)
    np.testing.assert_array_equal(t(dict(img=img.copy()))['img'], expected)


def test_distortion_keeps_shape_and_dtype_and_repeats_with_a_seed() -> None:
    img = cv2.resize(np.random.default_rng(1).integers(0, 256, (4, 4, 3), np.uint8), (32, 24))
    t = PhotoMetricDistortion()
    outs = []
    for seed in (3, 3, 4):
        np.random.seed(seed)
        outs.append(t(dict(img=img.copy()))['img'])
    assert outs[0].shape == img.shape and outs[0].dtype == np.uint8
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])
    assert not np.array_equal(outs[0], img)


# --------------------------------------------------------------------------- ResizeShortestEdge
@pytest.mark.parametrize('hw,short,max_size,expected', [
    ((100, 200), 50, 1000, (50, 100)),   # landscape: the height is the short side
    ((200, 100), 50, 1000, (100, 50)),   # portrait: the width is
    ((64, 64), 32, 1000, (32, 32)),      # square
    ((3, 5), 4, 1000, (4, 7)),           # 5 * 4 / 3 = 6.67 rounds half up to 7
    ((10, 30), 20, 50, (17, 50)),        # 20 x 60 exceeds 50: shrink by 50 / 60 -> 16.67 x 50
    ((512, 1024), 512, 1024, (512, 1024)),  # the long side exactly at max_size is kept
    ((100, 400), 200, 600, (150, 600)),  # 200 x 800 -> long side cut to 600
])
def test_shortest_edge_size_hand_cases(hw, short, max_size, expected) -> None:
    assert seg_transforms.shortest_edge_size(*hw, short, max_size) == expected


def test_resize_shortest_edge_resizes_image_and_label_map() -> None:
    transform = TRANSFORMS.build(dict(type='ResizeShortestEdge', scale=(40, 20), max_size=50))
    seg = np.zeros((10, 30), np.uint8)
    seg[:, 15:] = 1
    results = dict(img=np.zeros((10, 30, 3), np.uint8), gt_seg_map=seg,
                   seg_fields=['gt_seg_map'], img_shape=(10, 30))
    out = transform(results)
    # the smallest scale (20) is the short side: 20 x 60 -> capped at 50 wide -> 17 x 50
    assert out['img'].shape == (17, 50, 3) and out['img_shape'] == (17, 50)
    assert out['gt_seg_map'].shape == (17, 50) and set(np.unique(out['gt_seg_map'])) == {0, 1}
    assert out['scale'] == (50, 17) and out['keep_ratio'] is True
    assert out['scale_factor'] == pytest.approx((50 / 30, 17 / 10))
    assert repr(transform) == 'ResizeShortestEdge(scale=(40, 20), max_size=50)'


@pytest.mark.parametrize('kwargs,error', [(dict(scale=0, max_size=10), ValueError),
                                          (dict(scale=(), max_size=10), ValueError),
                                          (dict(scale='8', max_size=10), TypeError),
                                          (dict(scale=8, max_size=0), ValueError)])
def test_resize_shortest_edge_bad_arguments(kwargs, error) -> None:
    with pytest.raises(error, match='ResizeShortestEdge'):
        ResizeShortestEdge(**kwargs)
