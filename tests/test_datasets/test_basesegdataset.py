"""BaseSegDataset: file pairing, path joining, split files, metainfo, label_map, errors."""
from pathlib import Path

import numpy as np
import pytest

from segdet.datasets import (ADE20KDataset, BaseSegDataset, CityscapesDataset, PascalVOCDataset,
                             ShapesDataset)
from segdet.datasets.basesegdataset import build_label_map, resolve_palette

LOAD = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]


def custom(root: Path, **kwargs) -> BaseSegDataset:
    args = dict(data_root=str(root), img_suffix='.png', seg_map_suffix='_label.png',
                data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'))
    args.update(kwargs)
    return BaseSegDataset(**args)


# --------------------------------------------------------------------------- pairing and paths
def test_scan_is_recursive_sorted_and_paired(custom_root: Path, relpath) -> None:
    ds = custom(custom_root)
    assert len(ds) == 3
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [relpath(d['img_path'], custom_root) for d in infos] == [
        'img_dir/train/a.png', 'img_dir/train/b.png', 'img_dir/train/sub/c.png']
    assert [relpath(d['seg_map_path'], custom_root) for d in infos] == [
        'ann_dir/train/a_label.png', 'ann_dir/train/b_label.png', 'ann_dir/train/sub/c_label.png']
    first = infos[0]
    assert first['label_map'] is None and first['reduce_zero_label'] is False
    assert first['seg_fields'] == [] and first['ignore_index'] == 255
    assert first['num_classes'] is None  # BaseSegDataset without classes


def test_data_root_joins_relative_prefixes_only(custom_root: Path) -> None:
    ds = custom(custom_root)
    assert ds.data_prefix['img_path'] == str(custom_root / 'img_dir/train')
    absolute = custom(Path('/nonexistent_root'),
                      data_prefix=dict(img_path=str(custom_root / 'img_dir/train'),
                                       seg_map_path=str(custom_root / 'ann_dir/train')))
    assert absolute.get_data_info(0)['img_path'] == str(custom_root / 'img_dir/train/a.png')


def test_no_seg_map_path_means_no_labels(custom_root: Path) -> None:
    ds = custom(custom_root, data_prefix=dict(img_path='img_dir/train'))
    assert 'seg_map_path' not in ds.get_data_info(0)
    ds = custom(custom_root, data_prefix=dict(img_path='img_dir/train', seg_map_path=None))
    assert 'seg_map_path' not in ds.get_data_info(0)


def test_split_file_keeps_its_order(custom_root: Path, relpath) -> None:
    (custom_root / 'splits').mkdir()
    (custom_root / 'splits/train.txt').write_text('sub/c\nb\n\n')  # blank lines are skipped
    ds = custom(custom_root, ann_file='splits/train.txt')
    assert ds.ann_file == str(custom_root / 'splits/train.txt')
    assert [relpath(ds.get_data_info(i)['img_path'], custom_root) for i in range(len(ds))] == [
        'img_dir/train/sub/c.png', 'img_dir/train/b.png']


def test_indices_and_lazy_init(custom_root: Path) -> None:
    assert len(custom(custom_root, indices=2)) == 2
    lazy = custom(custom_root, lazy_init=True)
    assert not lazy._fully_initialized
    assert len(lazy) == 3


# --------------------------------------------------------------------------- metainfo
def test_palette_given_or_seeded(custom_root: Path) -> None:
    classes = ('x', 'y', 'z')
    ds = custom(custom_root, metainfo=dict(classes=classes, palette=[[1, 2, 3]] * 3))
    assert ds.metainfo['classes'] == classes and ds.metainfo['palette'] == [[1, 2, 3]] * 3
    assert ds.get_data_info(0)['num_classes'] == 3
    state = np.random.get_state()[1].copy()
    ds = custom(custom_root, metainfo=dict(classes=classes))
    expected = np.random.RandomState(42).randint(0, 255, size=(3, 3)).tolist()
    assert ds.metainfo['palette'] == expected
    assert np.array_equal(np.random.get_state()[1], state)  # global state untouched
    with pytest.raises(ValueError, match='2 colours for 3 classes'):
        custom(custom_root, metainfo=dict(classes=classes, palette=[[0, 0, 0]] * 2))


def test_build_label_map_and_palette_subset() -> None:
    old = ('background', 'circle', 'rectangle', 'triangle')
    assert build_label_map(old, old) is None
    assert build_label_map(None, ('a',)) is None
    assert build_label_map(old, ('triangle', 'circle')) == {0: 255, 1: 1, 2: 255, 3: 0}
    with pytest.raises(ValueError, match=r"\['square'\].*'background', 'circle'"):
        build_label_map(old, ('circle', 'square'))
    palette = [[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]]
    assert resolve_palette(palette, 2, {0: 255, 1: 1, 2: 255, 3: 0}) == [[3, 3, 3], [1, 1, 1]]


def test_class_subset_relabels_through_pipeline(shapes_root: str) -> None:
    prefix = dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train')
    full = ShapesDataset(data_root=shapes_root, data_prefix=prefix, pipeline=LOAD)
    sub = ShapesDataset(data_root=shapes_root, data_prefix=prefix, pipeline=LOAD,
                        metainfo=dict(classes=('circle', 'triangle')))
    assert sub.label_map == {0: 255, 1: 0, 2: 255, 3: 1}
    assert sub.metainfo['label_map'] == sub.label_map
    assert sub.metainfo['palette'] == [[220, 20, 60], [250, 170, 30]]
    for i in range(len(full)):
        raw = full[i]['data_samples'].gt_sem_seg.data[0].numpy()
        got = sub[i]['data_samples'].gt_sem_seg.data[0].numpy()
        expected = np.array([255, 0, 255, 1])[raw]
        np.testing.assert_array_equal(got, expected)


def test_reduce_zero_label_end_to_end(tmp_path: Path, make_pair) -> None:
    seg = np.array([[0, 1, 2, 150], [255, 3, 0, 1]], np.uint8)
    make_pair(tmp_path, 'images/training/ADE_1.jpg', 'annotations/training/ADE_1.png', seg)
    ds = ADE20KDataset(data_root=str(tmp_path), pipeline=LOAD,
                       data_prefix=dict(img_path='images/training',
                                        seg_map_path='annotations/training'))
    assert len(ds.metainfo['classes']) == 150 and len(ds.metainfo['palette']) == 150
    assert ds.metainfo['reduce_zero_label'] is True
    out = ds[0]
    np.testing.assert_array_equal(out['data_samples'].gt_sem_seg.data[0].numpy(),
                                  [[255, 0, 1, 149], [255, 2, 255, 0]])
    assert out['data_samples'].reduce_zero_label is True


# --------------------------------------------------------------------------- subclasses
def test_cityscapes_names_suffixes_and_label_ids(tmp_path: Path, make_pair) -> None:
    seg = np.zeros((4, 4), np.uint8)
    for city, frame in [('zurich', 'zurich_000001_000019'), ('aachen', 'aachen_000000_000019')]:
        make_pair(tmp_path, f'leftImg8bit/val/{city}/{frame}_leftImg8bit.png',
                  f'gtFine/val/{city}/{frame}_gtFine_labelTrainIds.png', seg)
    prefix = dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val')
    ds = CityscapesDataset(data_root=str(tmp_path), data_prefix=prefix)
    assert [Path(ds.get_data_info(i)['seg_map_path']).name for i in range(2)] == [
        'aachen_000000_000019_gtFine_labelTrainIds.png',
        'zurich_000001_000019_gtFine_labelTrainIds.png']
    meta = ds.metainfo
    assert len(meta['classes']) == 19 and len(meta['palette']) == 19
    assert meta['label_ids'] == (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                 31, 32, 33)
    sub = CityscapesDataset(data_root=str(tmp_path), data_prefix=prefix,
                            metainfo=dict(classes=('car', 'road')))
    assert sub.metainfo['label_ids'] == (26, 7)
    assert sub.metainfo['palette'] == [[0, 0, 142], [128, 64, 128]]


def test_voc_reads_split_file(tmp_path: Path, make_pair) -> None:
    for name in ('2007_000032', '2007_000039'):
        make_pair(tmp_path, f'JPEGImages/{name}.jpg', f'SegmentationClass/{name}.png',
                  np.zeros((3, 5), np.uint8))
    (tmp_path / 'ImageSets/Segmentation').mkdir(parents=True)
    (tmp_path / 'ImageSets/Segmentation/train.txt').write_text('2007_000039\n')
    ds = PascalVOCDataset(data_root=str(tmp_path), ann_file='ImageSets/Segmentation/train.txt',
                          data_prefix=dict(img_path='JPEGImages',
                                           seg_map_path='SegmentationClass'))
    assert len(ds) == 1 and ds.get_data_info(0)['img_path'].endswith('2007_000039.jpg')
    assert len(ds.metainfo['classes']) == 21 and ds.metainfo['classes'][0] == 'background'
    with pytest.raises(ValueError, match='PascalVOCDataset needs ann_file'):
        PascalVOCDataset(data_root=str(tmp_path), data_prefix=dict(img_path='JPEGImages'))


def test_shapes_dataset_on_generated_tree(shapes_root: str) -> None:
    ds = ShapesDataset(data_root=shapes_root,
                       data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'))
    assert len(ds) == 2
    assert ds.metainfo['classes'] == ('background', 'circle', 'rectangle', 'triangle')
    info = ds.get_data_info(1)
    assert info['img_path'].endswith('leftImg8bit/val/shapes/val_00001_leftImg8bit.png')
    assert info['seg_map_path'].endswith('gtFine/val/shapes/val_00001_gtFine_labelTrainIds.png')
    assert info['num_classes'] == 4


# --------------------------------------------------------------------------- bad input
def test_missing_image_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"{tmp_path}/nope/train"):
        BaseSegDataset(data_root=str(tmp_path), data_prefix=dict(img_path='nope/train'))


def test_missing_split_file_is_named(custom_root: Path) -> None:
    with pytest.raises(FileNotFoundError, match='splits/missing.txt'):
        custom(custom_root, ann_file='splits/missing.txt')


def test_split_file_naming_a_missing_image(custom_root: Path) -> None:
    (custom_root / 'train.txt').write_text('a\nghost\n')
    with pytest.raises(FileNotFoundError) as err:
        custom(custom_root, ann_file='train.txt')
    msg = str(err.value)
    assert 'line 2' in msg and str(custom_root / 'train.txt') in msg
    assert str(custom_root / 'img_dir/train/ghost.png') in msg


def test_image_without_label_names_both_paths(custom_root: Path) -> None:
    (custom_root / 'ann_dir/train/b_label.png').unlink()
    with pytest.raises(FileNotFoundError) as err:
        custom(custom_root)
    msg = str(err.value)
    assert str(custom_root / 'img_dir/train/b.png') in msg
    assert str(custom_root / 'ann_dir/train/b_label.png') in msg


def test_empty_data_set_is_an_error(custom_root: Path) -> None:
    with pytest.raises(ValueError, match=r"no images ending with '\.jpg' under .*img_dir/train"):
        custom(custom_root, img_suffix='.jpg')
    (custom_root / 'empty.txt').write_text('\n')
    with pytest.raises(ValueError, match='empty.txt lists no images'):
        custom(custom_root, ann_file='empty.txt')


def test_test_mode_needs_classes(custom_root: Path) -> None:
    with pytest.raises(ValueError, match='metainfo `classes`'):
        custom(custom_root, test_mode=True)


def test_label_without_image_is_an_error_naming_both(custom_root: Path) -> None:
    # A deleted image used to shrink the data set by one without a word.
    (custom_root / 'img_dir/train/b.png').unlink()
    with pytest.raises(FileNotFoundError) as err:
        custom(custom_root)
    msg = str(err.value)
    assert '1 label map(s)' in msg and 'skip_bad_samples=True' in msg
    assert str(custom_root / 'ann_dir/train/b_label.png') in msg
    assert str(custom_root / 'img_dir/train/b.png') in msg
    # Opt-in for training: the paired images, with a warning that names the file.
    with pytest.warns(UserWarning, match='b_label.png.*training on the 2 paired images'):
        ds = custom(custom_root, skip_bad_samples=True)
    assert len(ds) == 2
    # Never in test mode.
    with pytest.raises(FileNotFoundError, match='b_label.png'):
        custom(custom_root, skip_bad_samples=True, test_mode=True, metainfo=dict(classes=('x',)))


def test_split_file_may_leave_labels_out(custom_root: Path) -> None:
    (custom_root / 'img_dir/train/b.png').unlink()
    (custom_root / 'train.txt').write_text('a\nsub/c\n')
    assert len(custom(custom_root, ann_file='train.txt')) == 2
