"""tools/dataset_converters/voc_aug.py on a tiny SBD release and VOC devkit.

The ``.mat`` files are written by scipy in SBD's layout (a 1x1 struct ``GTcls`` with the fields
``Boundaries`` (20x1 cell of sparse maps), ``Segmentation`` (H, W) uint8, ``CategoriesPresent``),
so scipy is a test requirement (requirements/tests.txt).
"""
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
import scipy.sparse
from PIL import Image

from segdet.datasets import PascalVOCDataset
from tool_run_helpers import load_tool, run_tool

TOOL = 'dataset_converters/voc_aug.py'
VOC_TRAIN = ['2007_000032', '2007_000039']
VOC_VAL = ['2007_000033', '2007_000042']
# SBD's splits overlap VOC's: the lists are what remains after removing VOC val (and train).
SBD_TRAIN = ['2007_000032', '2007_000033', '2008_000002', '2008_000003']
SBD_VAL = ['2007_000039', '2008_000007', '2007_000042']
AUG = ['2008_000002', '2008_000003', '2008_000007']
TRAINAUG = ['2007_000032', '2007_000039', '2008_000002', '2008_000003', '2008_000007']


@pytest.fixture(scope='module')
def voc_aug() -> types.ModuleType:
    return load_tool(TOOL)


def class_map(index: int) -> np.ndarray:
    """A distinct (6, 8) map per image: background, class 1 + index % 20, class 20, ignore 255."""
    seg = np.zeros((6, 8), np.uint8)
    seg[1:4, 2:6] = 1 + index % 20
    seg[5, :] = 20
    seg[0, 0] = 255
    return seg


def write_sbd_mat(path: Path, seg: np.ndarray) -> None:
    """One ``dataset/cls/*.mat`` in SBD's struct layout (MATLAB v5, compressed)."""
    boundaries = np.empty((20, 1), dtype=object)
    for c in range(20):
        boundaries[c, 0] = scipy.sparse.csc_matrix(seg == c + 1)
    present = np.array([[c] for c in np.unique(seg) if 0 < c < 21], dtype=np.uint8)
    scipy.io.savemat(str(path), {'GTcls': {'Boundaries': boundaries, 'Segmentation': seg,
                                           'CategoriesPresent': present}}, do_compression=True)


def write_lists(folder: Path, lists: dict[str, list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in lists.items():
        (folder / f'{name}.txt').write_text(''.join(line + '\n' for line in lines))


def make_release(root: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    """``root/VOCdevkit`` (lists and JPEGs) and ``root/benchmark_RELEASE`` (SBD); the maps."""
    devkit, sbd = root / 'VOCdevkit', root / 'benchmark_RELEASE'
    write_lists(devkit / 'VOC2012/ImageSets/Segmentation', dict(train=VOC_TRAIN, val=VOC_VAL))
    write_lists(sbd / 'dataset', dict(train=SBD_TRAIN, val=SBD_VAL))
    (sbd / 'dataset/cls').mkdir()
    (devkit / 'VOC2012/JPEGImages').mkdir()
    maps = {}
    for i, name in enumerate(sorted(set(SBD_TRAIN + SBD_VAL))):
        maps[name] = class_map(i)
        write_sbd_mat(sbd / f'dataset/cls/{name}.mat', maps[name])
        assert cv2.imwrite(str(devkit / f'VOC2012/JPEGImages/{name}.jpg'),
                           np.full((6, 8, 3), 40 * i, np.uint8))
    return devkit, sbd, maps


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_mat_to_png_and_lists(voc_aug, tmp_path: Path, capsys) -> None:
    devkit, sbd, maps = make_release(tmp_path)
    assert voc_aug.main([str(devkit), str(sbd)]) == 0
    out = capsys.readouterr().out
    assert '7/7' in out and 'aug.txt (3 images), trainaug.txt (5)' in out
    assert 'the official VOC 2012 + SBD release gives 10582' in out
    png_dir = devkit / 'VOC2012/SegmentationClassAug'
    assert sorted(p.stem for p in png_dir.iterdir()) == sorted(maps)
    for name, seg in maps.items():
        png = Image.open(png_dir / f'{name}.png')
        assert png.mode == 'L'
        np.testing.assert_array_equal(np.asarray(png), seg)

    lists = devkit / 'VOC2012/ImageSets/Segmentation'
    aug, trainaug = read_lines(lists / 'aug.txt'), read_lines(lists / 'trainaug.txt')
    assert aug == AUG and trainaug == TRAINAUG
    # The set arithmetic, from the inputs: no VOC val image in either list, aug.txt has no VOC
    # train image (the configs read those from SegmentationClass) and train + aug = trainaug.
    sbd_all = set(SBD_TRAIN) | set(SBD_VAL)
    assert set(aug) == sbd_all - set(VOC_TRAIN) - set(VOC_VAL)
    assert set(trainaug) == (sbd_all | set(VOC_TRAIN)) - set(VOC_VAL)
    assert set(VOC_TRAIN) | set(aug) == set(trainaug) and not set(VOC_VAL) & set(trainaug)

    # The configs' second training set (pascal_voc12_aug.py's dataset_aug) reads the result.
    dataset = PascalVOCDataset(
        data_root=str(devkit / 'VOC2012'), ann_file='ImageSets/Segmentation/aug.txt',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        pipeline=[dict(type='LoadAnnotations')])
    assert len(dataset) == 3
    np.testing.assert_array_equal(dataset[2]['gt_seg_map'], maps['2008_000007'])


def test_nproc_2_and_out_dir(tmp_path: Path) -> None:
    devkit, sbd, maps = make_release(tmp_path)
    out_dir = tmp_path / 'pngs'
    done = run_tool(TOOL, str(devkit), str(sbd), '-o', str(out_dir), '--nproc', '2',
                    timeout=120)
    assert done.returncode == 0, done.stderr
    assert '7/7' in done.stdout
    for name, seg in maps.items():
        np.testing.assert_array_equal(np.asarray(Image.open(out_dir / f'{name}.png')), seg)
    assert read_lines(devkit / 'VOC2012/ImageSets/Segmentation/aug.txt') == AUG


def test_aug_lists(voc_aug) -> None:
    aug, trainaug = voc_aug.aug_lists(['c', 'a', 'x', 'y', 'x'], ['a', 'b'], ['c', 'd'])
    assert aug == ['x', 'y'] and trainaug == ['a', 'b', 'x', 'y']


def test_bad_inputs_name_the_file(voc_aug, tmp_path: Path, capsys) -> None:
    devkit, sbd, _ = make_release(tmp_path)
    assert voc_aug.main([str(devkit), str(tmp_path / 'nowhere')]) == 1
    assert f'{tmp_path / "nowhere" / "dataset" / "cls"}: no such folder' in \
        capsys.readouterr().err
    (devkit / 'VOC2012/ImageSets/Segmentation/val.txt').rename(tmp_path / 'val.txt')
    assert voc_aug.main([str(devkit), str(sbd)]) == 1
    assert 'VOC2012/ImageSets/Segmentation/val.txt: no such split file' in \
        capsys.readouterr().err
    (tmp_path / 'val.txt').rename(devkit / 'VOC2012/ImageSets/Segmentation/val.txt')
    (sbd / 'dataset/cls/2008_000003.mat').unlink()
    assert voc_aug.main([str(devkit), str(sbd)]) == 1
    assert "1 images of SBD train/val have no .mat class map (first: ['2008_000003'])" in \
        capsys.readouterr().err

    no_struct = tmp_path / 'no_struct.mat'
    scipy.io.savemat(str(no_struct), {'GTinst': {'Segmentation': np.zeros((2, 2), np.uint8)}})
    with pytest.raises(KeyError) as raised:
        voc_aug.read_class_map(str(no_struct))
    assert raised.value.args[0].startswith(f"{no_struct}: no GTcls struct")
    assert "found ['GTinst']" in raised.value.args[0]
    no_field = tmp_path / 'no_field.mat'
    scipy.io.savemat(str(no_field), {'GTcls': {'Boundaries': np.zeros((2, 2))}})
    with pytest.raises(KeyError) as raised:
        voc_aug.read_class_map(str(no_field))
    assert raised.value.args[0].startswith(f'{no_field}: GTcls has no Segmentation field')
    bad_values = tmp_path / 'bad_values.mat'
    write_sbd_mat(bad_values, np.array([[0, 21], [300, 5]], np.uint16))
    with pytest.raises(ValueError, match=rf'{bad_values}: GTcls.Segmentation holds \[21, 300\]'):
        voc_aug.read_class_map(str(bad_values))
    not_mat = tmp_path / 'not_mat.mat'
    not_mat.write_text('a text file')
    with pytest.raises(ValueError, match=f'{not_mat}: not a readable MATLAB file'):
        voc_aug.read_class_map(str(not_mat))


def test_without_scipy_says_how_to_install(voc_aug, tmp_path: Path, monkeypatch,
                                           capsys) -> None:
    monkeypatch.setitem(sys.modules, 'scipy.io', None)  # import scipy.io now fails
    devkit, sbd, _ = make_release(tmp_path)
    assert voc_aug.main([str(devkit), str(sbd)]) == 1
    assert 'needs scipy, which segdet does not require: pip install scipy' in \
        capsys.readouterr().err
    assert not (devkit / 'VOC2012/SegmentationClassAug').exists()
