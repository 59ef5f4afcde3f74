"""LoadAnnotations (decoding, reduce_zero_label, label_map, checks), LoadImageFromNDArray and
LoadProposals."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from segdet.datasets.transforms import LoadAnnotations, LoadImageFromNDArray, LoadProposals
from segdet.datasets.transforms.loading import (apply_label_map, invalid_label_values,
                                                reduce_zero_label)


def results_for(path: Path, **extra) -> dict:
    results = dict(seg_map_path=str(path), reduce_zero_label=False, seg_fields=[],
                   label_map=None)
    results.update(extra)
    return results


def write_png(path: Path, array: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), array)
    return path


# --------------------------------------------------------------------------- pure functions
def test_reduce_zero_label_values() -> None:
    seg = np.array([0, 1, 2, 150, 254, 255], np.uint8)
    np.testing.assert_array_equal(reduce_zero_label(seg), [255, 0, 1, 149, 253, 255])
    assert reduce_zero_label(seg).dtype == np.uint8


def test_apply_label_map_maps_each_pixel_once() -> None:
    seg = np.array([[0, 1, 2, 3, 255]], np.uint8)
    np.testing.assert_array_equal(apply_label_map(seg, {0: 255, 1: 0, 2: 255, 3: 1}),
                                  [[255, 0, 255, 1, 255]])
    # A swap must not chain (1 -> 2 -> 1).
    np.testing.assert_array_equal(apply_label_map(seg, {1: 2, 2: 1}), [[0, 2, 1, 3, 255]])
    np.testing.assert_array_equal(apply_label_map(seg.astype(np.int64), {1: 2, 2: 1}),
                                  [[0, 2, 1, 3, 255]])


def test_invalid_label_values() -> None:
    seg = np.array([[0, 3, 4, 255, 200, 4]], np.uint8)
    np.testing.assert_array_equal(invalid_label_values(seg, 4, 255), [4, 200])
    assert invalid_label_values(seg, 256, 255).size == 0
    np.testing.assert_array_equal(invalid_label_values(seg.astype(np.int64) - 1, 4, 255),
                                  [-1, 199, 254])


# --------------------------------------------------------------------------- transform
def test_loads_uint8_map_and_appends_seg_field(tmp_path: Path) -> None:
    seg = np.array([[0, 1], [2, 255]], np.uint8)
    path = write_png(tmp_path / 'a.png', seg)
    out = LoadAnnotations()(results_for(path, num_classes=3, ignore_index=255,
                                        ori_shape=(2, 2)))
    np.testing.assert_array_equal(out['gt_seg_map'], seg)
    assert out['gt_seg_map'].dtype == np.uint8 and out['seg_fields'] == ['gt_seg_map']


def test_palette_png_gives_its_indices(tmp_path: Path) -> None:
    seg = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    img = Image.fromarray(seg, mode='P')
    img.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * 759)
    img.save(tmp_path / 'voc.png')
    out = LoadAnnotations()(results_for(tmp_path / 'voc.png', num_classes=21))
    np.testing.assert_array_equal(out['gt_seg_map'], seg)


def test_reduce_zero_label_from_the_data_set(tmp_path: Path) -> None:
    path = write_png(tmp_path / 'a.png', np.array([[0, 1, 150, 255]], np.uint8))
    out = LoadAnnotations()(results_for(path, reduce_zero_label=True, num_classes=150))
    np.testing.assert_array_equal(out['gt_seg_map'], [[255, 0, 149, 255]])
    with pytest.raises(ValueError, match='disagrees with the data set'):
        LoadAnnotations(reduce_zero_label=False)(results_for(path, reduce_zero_label=True))


def test_reduce_zero_label_is_read_from_each_results_dict(tmp_path: Path) -> None:
    """mmseg's rule: the transform's None defers to results['reduce_zero_label']."""
    path = write_png(tmp_path / 'b.png', np.array([[0, 1, 2]], np.uint8))
    transform = LoadAnnotations()
    reduced = transform(results_for(path, reduce_zero_label=True))['gt_seg_map']
    kept = transform(results_for(path, reduce_zero_label=False))['gt_seg_map']
    np.testing.assert_array_equal(reduced, [[255, 0, 1]])
    # the same transform follows the second data set too (mmseg would keep the first value)
    np.testing.assert_array_equal(kept, [[0, 1, 2]])
    assert transform.reduce_zero_label is None
    # an explicit value equal to the data set's is accepted; one that differs is refused
    same = LoadAnnotations(reduce_zero_label=True)(results_for(path, reduce_zero_label=True))
    np.testing.assert_array_equal(same['gt_seg_map'], [[255, 0, 1]])
    with pytest.raises(ValueError, match=r'reduce_zero_label=True\) disagrees.*=False'):
        LoadAnnotations(reduce_zero_label=True)(results_for(path, reduce_zero_label=False))
    # results without the key: the transform's own value, else no reduction
    no_key = results_for(path)
    del no_key['reduce_zero_label']
    own = LoadAnnotations(reduce_zero_label=True)(dict(no_key, seg_fields=[]))
    np.testing.assert_array_equal(own['gt_seg_map'], [[255, 0, 1]])
    np.testing.assert_array_equal(LoadAnnotations()(no_key)['gt_seg_map'], [[0, 1, 2]])


def test_size_mismatch_names_file_and_sizes(tmp_path: Path) -> None:
    path = write_png(tmp_path / 'small.png', np.zeros((4, 6), np.uint8))
    with pytest.raises(ValueError) as err:
        LoadAnnotations()(results_for(path, ori_shape=(8, 12), img_path='/data/img.png'))
    msg = str(err.value)
    assert str(path) in msg and '4x6' in msg and '8x12' in msg and '/data/img.png' in msg


def test_bad_values_name_file_and_values(tmp_path: Path) -> None:
    seg = np.array([[0, 1, 7], [9, 255, 7]], np.uint8)
    path = write_png(tmp_path / 'bad.png', seg)
    with pytest.raises(ValueError) as err:
        LoadAnnotations()(results_for(path, num_classes=4, ignore_index=255))
    msg = str(err.value)
    assert str(path) in msg and '[7, 9]' in msg and '0..3' in msg and 'ignore_index 255' in msg
    # After reduce_zero_label, the message still reports the values stored in the file.
    with pytest.raises(ValueError, match=r'\[9\].*after reduce_zero_label'):
        LoadAnnotations()(results_for(path, num_classes=7, reduce_zero_label=True))
    # Without num_classes (no classes in metainfo) nothing is checked.
    assert LoadAnnotations()(results_for(path))['gt_seg_map'].max() == 255


def test_sixteen_bit_values_are_not_wrapped(tmp_path: Path) -> None:
    path = write_png(tmp_path / 'wide.png', np.array([[0, 300], [1, 2]], np.uint16))
    with pytest.raises(ValueError, match=r'\[300\]'):
        LoadAnnotations()(results_for(path, num_classes=19))
    out = LoadAnnotations()(results_for(path))
    assert out['gt_seg_map'].dtype == np.int64 and out['gt_seg_map'][0, 1] == 300


def test_colour_label_image_is_rejected(tmp_path: Path) -> None:
    colour = np.zeros((3, 3, 3), np.uint8)
    colour[0, 0] = (128, 64, 128)
    path = write_png(tmp_path / 'colour.png', colour)
    with pytest.raises(ValueError, match=f'{path} has shape \\(3, 3, 3\\)'):
        LoadAnnotations()(results_for(path))
    grey = write_png(tmp_path / 'grey.png', np.repeat(np.full((3, 3, 1), 2, np.uint8), 3, -1))
    assert LoadAnnotations()(results_for(grey))['gt_seg_map'].shape == (3, 3)


def test_load_image_from_ndarray() -> None:
    img = np.zeros((5, 7, 3), np.uint8)
    out = LoadImageFromNDArray()(dict(img=img))
    assert out['img_path'] is None and out['img_shape'] == (5, 7) and out['ori_shape'] == (5, 7)
    assert LoadImageFromNDArray(to_float32=True)(dict(img=img))['img'].dtype == np.float32


def test_missing_seg_map_path_is_explained() -> None:
    with pytest.raises(KeyError, match=r"no seg_map_path for image x\.png.*seg_map_path"):
        LoadAnnotations()(dict(img_path='x.png', seg_fields=[]))


# --------------------------------------------------------------------------- LoadProposals
def test_load_proposals_arrays_scores_and_limit() -> None:
    boxes = [[0, 0, 4, 4], [1, 1, 3, 3], [2, 2, 5, 5]]
    out = LoadProposals(num_max_proposals=2)(
        dict(proposals=dict(bboxes=np.array(boxes), scores=np.array([0.9, 0.8, 0.1]))))
    assert out['proposals'].dtype == np.float32 and out['proposals'].shape == (2, 4)
    np.testing.assert_array_equal(out['proposals'], boxes[:2])
    np.testing.assert_allclose(out['proposals_scores'], [0.9, 0.8])
    no_scores = LoadProposals()(dict(proposals=dict(bboxes=np.array(boxes))))
    np.testing.assert_array_equal(no_scores['proposals_scores'], np.zeros(3, np.float32))
    empty = LoadProposals()(dict(proposals=dict(bboxes=np.zeros((0, 4)))))
    assert empty['proposals'].shape == (0, 4) and empty['proposals_scores'].shape == (0, )
    assert repr(LoadProposals(5)) == 'LoadProposals(num_max_proposals=5)'


def test_load_proposals_bad_inputs_are_named() -> None:
    with pytest.raises(TypeError, match="results\\['proposals'\\] of image a.png"):
        LoadProposals()(dict(img_path='a.png', proposals=np.zeros((1, 4))))
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        LoadProposals()(dict(proposals=dict(bboxes=np.zeros((2, 5)))))
    with pytest.raises(ValueError, match='2 proposal boxes but 1 scores'):
        LoadProposals()(dict(proposals=dict(bboxes=np.zeros((2, 4)), scores=np.zeros(1))))
