"""Keypoints through LoadAnnotations, Resize, RandomFlip (left/right swap) and PackDetInputs."""
import json

import cv2
import numpy as np
import pytest
import torch

from segdet.datasets import CocoDataset
from segdet.datasets.transforms import LoadAnnotations, PackDetInputs, RandomFlip, Resize
from segdet.datasets.transforms.det_transforms import flip_keypoints

FLIP = [1, 0, 3, 2]  # K = 4: (left_a, right_a), (left_b, right_b)


def keypoints() -> np.ndarray:
    """(2, 4, 3): instance 0 with every v, instance 1 with x = 0 and x = W."""
    return np.array([[[5, 6, 2], [30, 7, 1], [0, 0, 0], [12, 20, 2]],
                     [[0, 1, 2], [40, 2, 2], [3, 29, 1], [39.5, 0.5, 2]]], dtype=np.float32)


def results(**kw) -> dict:
    out = dict(img=np.zeros((30, 40, 3), np.uint8), img_shape=(30, 40), ori_shape=(30, 40),
               gt_keypoints=keypoints(), gt_bboxes=np.array([[2, 3, 31, 21], [0, 0, 40, 30]],
                                                            np.float32),
               flip_indices=list(FLIP), img_path='a.png')
    out.update(kw)
    return out


def test_load_annotations_stacks_instance_keypoints():
    kps = keypoints()
    res = dict(img_path='a.png', ori_shape=(30, 40), height=30, width=40,
               instances=[dict(bbox=[0, 0, 5, 5], bbox_label=0, ignore_flag=0, keypoints=k)
                          for k in kps])
    out = LoadAnnotations(with_bbox=True, with_keypoints=True)(res)
    assert out['gt_keypoints'].dtype == np.float32 and out['gt_keypoints'].shape == (2, 4, 3)
    np.testing.assert_array_equal(out['gt_keypoints'], kps)
    assert 'gt_seg_map' not in out
    empty = LoadAnnotations(with_bbox=True, with_keypoints=True)(
        dict(img_path='b.png', instances=[], keypoints_per_instance=4))
    assert empty['gt_keypoints'].shape == (0, 4, 3)
    with pytest.raises(KeyError, match='instance 0 of image c.png has no keypoints'):
        LoadAnnotations(with_keypoints=True)(
            dict(img_path='c.png', instances=[dict(bbox=[0, 0, 1, 1], bbox_label=0)]))


def test_resize_scales_xy_not_v():
    out = Resize(scale=(80, 45), keep_ratio=False)(results())
    expected = keypoints()
    expected[..., 0] *= 2.0
    expected[..., 1] *= 1.5
    assert out['gt_keypoints'].dtype == np.float32
    np.testing.assert_allclose(out['gt_keypoints'], expected)


def test_resize_keeps_keypoints_outside_the_image():
    kps = np.array([[[-4, 10, 2], [50, 35, 1]]], np.float32)
    out = Resize(scale=(20, 15), keep_ratio=False)(results(gt_keypoints=kps, gt_bboxes=None))
    np.testing.assert_allclose(out['gt_keypoints'], [[[-2, 5, 2], [25, 17.5, 1]]])


def test_horizontal_flip_mirrors_x_and_swaps_left_right():
    out = RandomFlip(prob=1.0, direction='horizontal')(results())
    kps = keypoints()
    expected = kps[:, FLIP].copy()
    expected[..., 0] = 40 - expected[..., 0]
    np.testing.assert_allclose(out['gt_keypoints'], expected)
    # left_a of instance 0 is the mirrored right_a: x 40 - 30, its y and v.
    np.testing.assert_allclose(out['gt_keypoints'][0, 0], [10, 7, 1])
    # Boxes use the same convention: a keypoint on a box edge stays on it.
    np.testing.assert_allclose(out['gt_bboxes'][0], [40 - 31, 3, 40 - 2, 21])
    twice = RandomFlip(prob=1.0, direction='horizontal')(out)
    np.testing.assert_allclose(twice['gt_keypoints'], keypoints())


@pytest.mark.parametrize('direction', ['horizontal', 'vertical', 'diagonal'])
def test_double_flip_is_identity(direction):
    once = flip_keypoints(keypoints(), (30, 40), direction, FLIP)
    assert not np.allclose(once, keypoints())
    np.testing.assert_allclose(flip_keypoints(once, (30, 40), direction, FLIP), keypoints())


def test_vertical_and_diagonal_flip_labels():
    kps = keypoints()
    vert = flip_keypoints(kps, (30, 40), 'vertical', FLIP)
    np.testing.assert_allclose(vert[0, 0], [30, 30 - 7, 1])  # a mirror image: swapped
    diag = flip_keypoints(kps, (30, 40), 'diagonal', None)  # a rotation: not swapped
    np.testing.assert_allclose(diag[0, 0], [35, 24, 2])


def test_flip_needs_valid_flip_indices():
    res = results()
    del res['flip_indices']
    with pytest.raises(KeyError, match='a.png has gt_keypoints but no flip_indices'):
        RandomFlip(prob=1.0, direction='horizontal')(res)
    with pytest.raises(ValueError, match=r'a.png: flip_indices \[1, 0, 2\] is not a perm'):
        RandomFlip(prob=1.0)(results(flip_indices=[1, 0, 2]))
    # No keypoints: no flip_indices needed; not flipped: nothing checked.
    RandomFlip(prob=1.0)(results(gt_keypoints=None, flip_indices=None))
    res = results(flip_indices=None)
    np.testing.assert_array_equal(RandomFlip(prob=0.0)(res)['gt_keypoints'], keypoints())


def test_pack_keypoints():
    res = results(gt_bboxes_labels=np.array([0, 0]), gt_ignore_flags=np.array([False, True]))
    sample = PackDetInputs()(res)['data_samples']
    assert sample.gt_instances.keypoints.shape == (1, 4, 3)
    assert sample.gt_instances.keypoints.dtype == torch.float32
    assert sample.ignored_instances.keypoints.shape == (1, 4, 3)
    torch.testing.assert_close(sample.gt_instances.keypoints[0], torch.from_numpy(keypoints()[0]))
    empty = PackDetInputs()(dict(gt_keypoints=np.zeros((0, 4, 3), np.float32),
                                 gt_bboxes=np.zeros((0, 4), np.float32)))['data_samples']
    assert empty.gt_instances.keypoints.shape == (0, 4, 3)


def test_dataset_pipeline_end_to_end(tmp_path):
    """The data set's flip_indices reach RandomFlip through get_data_info."""
    (tmp_path / 'imgs').mkdir()
    assert cv2.imwrite(str(tmp_path / 'imgs' / '1.png'), np.zeros((30, 40, 3), np.uint8))
    cats = [dict(id=1, name='thing', keypoints=['la', 'ra', 'lb', 'rb'])]
    anns = [dict(id=1, image_id=1, category_id=1, bbox=[2, 3, 29, 18], area=522, iscrowd=0,
                 keypoints=keypoints()[0].ravel().tolist(), num_keypoints=3)]
    (tmp_path / 'a.json').write_text(json.dumps(dict(
        images=[dict(id=1, file_name='1.png', width=40, height=30)], annotations=anns,
        categories=cats)))
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_keypoints=True),
                dict(type='Resize', scale=(80, 60), keep_ratio=True),
                dict(type='RandomFlip', prob=1.0), dict(type='PackDetInputs')]
    ds = CocoDataset(ann_file=str(tmp_path / 'a.json'), data_prefix=dict(img='imgs'),
                     data_root=str(tmp_path), metainfo=dict(classes=('thing', ),
                                                            flip_indices=FLIP),
                     pipeline=pipeline)
    kps = ds[0]['data_samples'].gt_instances.keypoints
    expected = keypoints()[0][FLIP] * np.array([2, 2, 1], np.float32)
    expected[:, 0] = 80 - expected[:, 0]
    torch.testing.assert_close(kps[0], torch.from_numpy(expected))
    with pytest.raises(KeyError, match='no flip_indices'):
        CocoDataset(ann_file=str(tmp_path / 'a.json'), data_prefix=dict(img='imgs'),
                    data_root=str(tmp_path), metainfo=dict(classes=('thing', )),
                    pipeline=pipeline)[0]
