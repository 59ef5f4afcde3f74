"""Detection transforms: mask decoding, LoadAnnotations(with_bbox/with_mask), Resize and
RandomFlip on boxes and masks, PackDetInputs; values computed by hand."""
from pathlib import Path

import cv2
import mmcv.transforms as mmcv_t
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmengine.registry import DefaultScope

from segdet.datasets.transforms import (LoadAnnotations, PackDetInputs, RandomFlip, Resize)
from segdet.datasets.transforms.det_transforms import (decode_instance_mask, flip_masks,
                                                       resize_masks)
from segdet.registry import TRANSFORMS


def rect(x1: float, y1: float, x2: float, y2: float) -> list:
    return [x1, y1, x2, y1, x2, y2, x1, y2]


def box_mask(h: int, w: int, box: tuple) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[box[1]:box[3], box[0]:box[2]] = 1
    return m


def extent(mask) -> list:
    """[x1, y1, x2, y2] (exclusive ends) of a mask's nonzero pixels."""
    ys, xs = np.nonzero(np.asarray(mask))
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


@pytest.fixture
def image_info(tmp_path: Path) -> dict:
    """A 40x60 image on disk and its data_info: two boxes with polygons, one crowd RLE."""
    path = tmp_path / 'img.png'
    assert cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 255, (40, 60, 3),
                                                                    dtype=np.uint8))
    crowd = mask_utils.encode(np.asfortranarray(box_mask(40, 60, (40, 2, 50, 10))))
    instances = [
        dict(bbox=[10., 5., 30., 15.], bbox_label=3, ignore_flag=0, mask=[rect(10, 5, 30, 15)]),
        dict(bbox=[50., 30., 60., 40.], bbox_label=0, ignore_flag=0,
             mask=[rect(50, 30, 60, 40), [1, 1, 2, 2]]),
        dict(bbox=[40., 2., 50., 10.], bbox_label=7, ignore_flag=1, mask=crowd),
    ]
    return dict(img_path=str(path), img_id=3, width=60, height=40, seg_map_path=None,
                instances=instances)


def test_decode_polygon_and_rle_forms() -> None:
    expected = box_mask(5, 7, (2, 1, 5, 3))
    poly = decode_instance_mask([rect(2, 1, 5, 3)], 5, 7)
    assert poly.dtype == np.uint8 and np.array_equal(poly, expected)
    rle = mask_utils.encode(np.asfortranarray(expected))
    assert np.array_equal(decode_instance_mask(rle, 5, 7), expected)  # bytes counts
    as_str = dict(size=rle['size'], counts=rle['counts'].decode())
    assert np.array_equal(decode_instance_mask(as_str, 5, 7), expected)
    # Column-major runs: 7 zeros, then columns 1..3 have rows 1-2 set.
    uncompressed = dict(size=[5, 7], counts=[6, 2, 3, 2, 3, 2, 17])
    assert np.array_equal(decode_instance_mask(uncompressed, 5, 7),
                          box_mask(5, 7, (1, 1, 4, 3)))
    with pytest.raises(ValueError, match='size'):
        decode_instance_mask(dict(size=[6, 7], counts=[42]), 5, 7)
    with pytest.raises(KeyError, match='counts'):  # a missing key of the RLE dict
        decode_instance_mask(dict(size=[5, 7]), 5, 7)


def test_load_annotations_flags_follow_mmseg_and_mmdet() -> None:
    seg = LoadAnnotations()
    assert seg.with_seg and not (seg.with_bbox or seg.with_label or seg.with_mask)
    det = LoadAnnotations(with_bbox=True)
    assert det.with_bbox and det.with_label and not det.with_seg and not det.with_mask
    both = LoadAnnotations(with_bbox=True, with_mask=True, with_seg=True)
    assert both.with_seg and both.with_mask
    with pytest.raises(NotImplementedError, match='poly2mask'):
        LoadAnnotations(with_mask=True, poly2mask=False)


def test_load_annotations_dtypes_and_masks(image_info: dict) -> None:
    out = LoadAnnotations(with_bbox=True, with_mask=True)(dict(image_info, ori_shape=(40, 60)))
    assert out['gt_bboxes'].dtype == np.float32 and out['gt_bboxes'].shape == (3, 4)
    assert out['gt_bboxes_labels'].dtype == np.int64
    assert out['gt_bboxes_labels'].tolist() == [3, 0, 7]
    assert out['gt_ignore_flags'].dtype == bool
    assert out['gt_ignore_flags'].tolist() == [False, False, True]
    masks = out['gt_masks']
    assert masks.shape == (3, 40, 60) and masks.dtype == np.uint8
    for box, mask in zip(out['gt_bboxes'], masks):
        assert extent(mask) == box.astype(int).tolist()
    assert 'gt_seg_map' not in out


def test_load_annotations_no_valid_polygon_ignores_instance(image_info: dict) -> None:
    image_info['instances'][0]['mask'] = [[1, 1, 2, 2], []]
    out = LoadAnnotations(with_bbox=True, with_mask=True)(image_info)  # size from height/width
    assert out['gt_ignore_flags'].tolist() == [True, False, True]
    assert out['gt_masks'][0].sum() == 0 and out['gt_bboxes'][0].tolist() == [10, 5, 30, 15]
    assert image_info['instances'][0]['ignore_flag'] == 0  # data_info is not edited


def test_load_annotations_errors_name_the_image(image_info: dict) -> None:
    del image_info['instances'][1]['mask']
    with pytest.raises(KeyError, match=r'instance 1 of image .*img\.png'):
        LoadAnnotations(with_bbox=True, with_mask=True)(dict(image_info))
    with pytest.raises(ValueError, match=r'img\.png is 60x40'):
        LoadAnnotations(with_bbox=True)(dict(image_info, ori_shape=(60, 40)))
    with pytest.raises(KeyError, match='instances'):
        LoadAnnotations(with_bbox=True)(dict(img_path='x.png'))
    empty = LoadAnnotations(with_bbox=True, with_mask=True)(
        dict(img_path='x.png', instances=[], ori_shape=(4, 5)))
    assert empty['gt_bboxes'].shape == (0, 4) and empty['gt_masks'].shape == (0, 4, 5)
    assert empty['gt_bboxes_labels'].shape == (0, ) and empty['gt_ignore_flags'].shape == (0, )


def test_full_pipeline_resize_flip_pack(image_info: dict) -> None:
    with DefaultScope.overwrite_default_scope('segdet'):
        pipeline = [TRANSFORMS.build(t) for t in [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='Resize', scale=(1333, 800), keep_ratio=True),
            dict(type='RandomFlip', prob=1.0),
            dict(type='PackDetInputs')]]
    results = dict(image_info)
    for t in pipeline:
        results = t(results)
    sample = results['data_samples']
    # 40x60 -> min(1333 / 60, 800 / 40) = 20 -> 800x1200.
    assert results['inputs'].shape == (3, 800, 1200)
    assert sample.ori_shape == (40, 60) and sample.img_shape == (800, 1200)
    assert sample.scale_factor == (20.0, 20.0)
    assert sample.flip is True and sample.flip_direction == 'horizontal'
    assert sample.img_id == 3 and sample.img_path == image_info['img_path']
    # x20, then x -> 1200 - x (x1 and x2 swap).
    gt = sample.gt_instances
    assert gt.bboxes.dtype == torch.float32 and gt.labels.dtype == torch.int64
    assert gt.bboxes.tolist() == [[600., 100., 1000., 300.], [0., 600., 200., 800.]]
    assert gt.labels.tolist() == [3, 0]
    ign = sample.ignored_instances
    assert ign.bboxes.tolist() == [[200., 40., 400., 200.]] and ign.labels.tolist() == [7]
    assert gt.masks.shape == (2, 800, 1200) and gt.masks.dtype == torch.uint8
    for box, mask in zip(torch.cat([gt.bboxes, ign.bboxes]), list(gt.masks) + list(ign.masks)):
        assert extent(mask) == box.int().tolist()
        assert int(mask.sum()) == int((box[2] - box[0]) * (box[3] - box[1]))


def test_resize_non_integer_scale_and_clipping() -> None:
    img = np.zeros((30, 50, 3), np.uint8)
    boxes = np.array([[10, 3, 20, 9], [-5, -5, 60, 40]], np.float32)
    masks = np.stack([box_mask(30, 50, (10, 3, 20, 9)), box_mask(30, 50, (0, 0, 50, 30))])
    out = Resize(scale=(1333, 800), keep_ratio=True)(
        dict(img=img, gt_bboxes=boxes.copy(), gt_masks=masks))
    # s = min(1333 / 50, 800 / 30) = 26.66 -> (int(50 s + .5), int(30 s + .5)) = (1333, 800).
    assert out['img_shape'] == (800, 1333) and out['gt_masks'].shape == (2, 800, 1333)
    w_scale, h_scale = out['scale_factor']
    assert (w_scale, h_scale) == (1333 / 50, 800 / 30)
    assert out['gt_bboxes'].dtype == np.float32
    np.testing.assert_allclose(out['gt_bboxes'][0], [10 * w_scale, 3 * h_scale, 20 * w_scale,
                                                     9 * h_scale], rtol=1e-6)
    assert out['gt_bboxes'][1].tolist() == [0, 0, 1333, 800]  # clipped to the new image
    assert out['gt_masks'][1].all()
    unclipped = Resize(scale=(1333, 800), keep_ratio=True, clip_object_border=False)(
        dict(img=img, gt_bboxes=boxes.copy()))
    np.testing.assert_allclose(unclipped['gt_bboxes'][1],
                               [-5 * w_scale, -5 * h_scale, 60 * w_scale, 40 * h_scale],
                               rtol=1e-6)
    # Without keep_ratio the image takes exactly scale (w, h).
    out = Resize(scale=(100, 60))(dict(img=img, gt_masks=masks))
    assert out['scale_factor'] == (2.0, 2.0) and out['gt_masks'].shape == (2, 60, 100)
    assert extent(out['gt_masks'][0]) == [20, 6, 40, 18]


def test_vertical_and_diagonal_flip_keep_boxes_on_masks() -> None:
    img = np.zeros((10, 12, 3), np.uint8)
    box = (2, 1, 5, 4)
    for direction, expected in [('vertical', [2, 6, 5, 9]), ('diagonal', [7, 6, 10, 9])]:
        out = RandomFlip(prob=1.0, direction=direction)(dict(
            img=img, gt_bboxes=np.array([box], np.float32),
            gt_masks=box_mask(10, 12, box)[None]))
        assert out['gt_bboxes'][0].tolist() == expected
        assert extent(out['gt_masks'][0]) == expected and out['gt_masks'].flags.c_contiguous
    with pytest.raises(ValueError, match='direction'):
        flip_masks(np.zeros((1, 2, 2), np.uint8), 'sideways')
    assert resize_masks(np.zeros((0, 4, 4), np.uint8), (8, 6)).shape == (0, 8, 6)


def test_registry_gives_mask_aware_subclasses_that_keep_seg_behaviour() -> None:
    with DefaultScope.overwrite_default_scope('segdet'):
        resize = TRANSFORMS.build(dict(type='Resize', scale=(40, 20), keep_ratio=True))
        flip = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0))
        random_resize = TRANSFORMS.build(dict(type='RandomResize', scale=(40, 20),
                                              ratio_range=(0.5, 2.0), keep_ratio=True))
    assert type(resize) is Resize and isinstance(resize, mmcv_t.Resize)
    assert type(flip) is RandomFlip and isinstance(flip, mmcv_t.RandomFlip)
    assert type(random_resize.resize) is Resize  # RandomResize builds Resize by name
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (10, 16, 3), dtype=np.uint8)
    seg = rng.integers(0, 5, (10, 16), dtype=np.uint8)
    for ours, theirs in [(resize, mmcv_t.Resize(scale=(40, 20), keep_ratio=True)),
                         (flip, mmcv_t.RandomFlip(prob=1.0))]:
        a = ours(dict(img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map']))
        b = theirs(dict(img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map']))
        assert a.keys() == b.keys()
        for key in a:
            assert np.array_equal(a[key], b[key]) if isinstance(a[key], np.ndarray) else (
                a[key] == b[key]), key
    out = random_resize(dict(img=img, gt_masks=box_mask(10, 16, (2, 2, 6, 6))[None]))
    assert out['gt_masks'].shape[1:] == out['img'].shape[:2]


def test_pack_det_inputs_test_mode_and_lengths() -> None:
    img = np.zeros((4, 5, 3), np.uint8)
    out = PackDetInputs()(dict(img=img, img_id=1, img_path='a.png', ori_shape=(4, 5),
                               img_shape=(4, 5), scale_factor=(1.0, 1.0), seg_fields=[]))
    sample = out['data_samples']
    assert not hasattr(sample, 'gt_instances') and not hasattr(sample, 'ignored_instances')
    assert set(sample.metainfo) == {'img_id', 'img_path', 'ori_shape', 'img_shape',
                                    'scale_factor'}
    out = PackDetInputs()(dict(img=img, gt_bboxes=np.ones((2, 4), np.float64),
                               gt_bboxes_labels=np.array([1, 2])))
    gt = out['data_samples'].gt_instances
    assert gt.bboxes.dtype == torch.float32 and len(gt) == 2
    assert len(out['data_samples'].ignored_instances) == 0
    with pytest.raises(ValueError, match='differ in length'):
        PackDetInputs()(dict(img=img, img_path='a.png', gt_bboxes=np.ones((2, 4)),
                             gt_bboxes_labels=np.array([1])))
