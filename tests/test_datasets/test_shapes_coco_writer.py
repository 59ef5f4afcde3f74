"""segdet/datasets/synthetic/coco_writer.py and ``make_shapes_data.py --format coco``."""
import contextlib
import importlib.util
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from segdet.datasets.synthetic import (SHAPES_COCO_CLASSES, coco_ann_path, coco_image_path,
                                       coco_params, generate_sample, inspect_coco_tree,
                                       mask_to_polygons, remove_coco_tree, write_shapes_coco,
                                       write_shapes_tree)
from segdet.datasets.synthetic.coco_writer import mask_bbox, mask_segmentation

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'misc' / 'make_shapes_data.py'
SMALL = dict(num_train=6, num_val=3, size=64, seed=0)
SMALL_ARGS = ['--num-train', '3', '--num-val', '2', '--size', '48']


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A COCO shapes tree of 6 train + 3 val images of 64x64, written once."""
    root = tmp_path_factory.mktemp('shapes_coco')
    write_shapes_coco(str(root), **SMALL)
    return root


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('make_shapes_data', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_coco(path: str) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints its timing
        return COCO(path)


def tight_box(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]


def tree_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob('*') if p.is_file()}


@pytest.mark.parametrize('split', ['train', 'val'])
def test_json_is_coco_with_unique_ids(coco_root: Path, split: str) -> None:
    coco = load_coco(coco_ann_path(str(coco_root), split))
    cats = coco.loadCats(coco.getCatIds())
    assert [(c['id'], c['name'], c['supercategory']) for c in cats] == [
        (1, 'circle', 'shape'), (2, 'rectangle', 'shape'), (3, 'triangle', 'shape')]
    assert SHAPES_COCO_CLASSES == ('circle', 'rectangle', 'triangle')
    images = coco.dataset['images']
    assert [img['id'] for img in images] == list(range(1, SMALL[f'num_{split}'] + 1))
    assert all(img['width'] == img['height'] == 64 for img in images)
    anns = coco.dataset['annotations']
    ann_ids = [ann['id'] for ann in anns]
    assert len(set(ann_ids)) == len(ann_ids) and min(ann_ids) >= 1
    assert all(ann['iscrowd'] == 0 for ann in anns)
    assert {ann['category_id'] for ann in anns} <= {1, 2, 3}


@pytest.mark.parametrize('split', ['train', 'val'])
def test_annotations_match_the_generator(coco_root: Path, split: str) -> None:
    coco = load_coco(coco_ann_path(str(coco_root), split))
    for img in coco.dataset['images']:
        sample = generate_sample(SMALL['seed'], split, img['id'] - 1, SMALL['size'])
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        assert len(anns) == len(sample.instances)
        for ann, inst in zip(anns, sample.instances):  # both in drawing order
            decoded = coco.annToMask(ann).astype(bool)
            iou = (decoded & inst.mask).sum() / (decoded | inst.mask).sum()
            assert iou > 0.9, (split, img['id'], ann['id'], iou)
            # Stronger: the polygons trace the pixel outline, so they decode exactly.
            assert np.array_equal(decoded, inst.mask)
            assert ann['bbox'] == tight_box(inst.mask)
            assert ann['area'] == inst.mask.sum()
            assert ann['category_id'] == inst.label


@pytest.mark.parametrize('split', ['train', 'val'])
def test_images_are_the_generated_ones(coco_root: Path, split: str) -> None:
    images = json.loads(Path(coco_ann_path(str(coco_root), split)).read_text())['images']
    for img in images:
        path = coco_root / split / img['file_name']
        assert str(path) == coco_image_path(str(coco_root), split, img['id'] - 1)
        pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert pixels.shape == (img['height'], img['width'], 3)
        sample = generate_sample(SMALL['seed'], split, img['id'] - 1, SMALL['size'])
        assert np.array_equal(pixels, sample.img)


def test_two_writes_are_byte_identical(coco_root: Path, tmp_path: Path) -> None:
    meta = write_shapes_coco(str(tmp_path), **SMALL)
    assert meta['params'] == coco_params(**SMALL)
    assert tree_files(tmp_path) == tree_files(coco_root)
    assert inspect_coco_tree(str(tmp_path), coco_params(**SMALL)) == 'same'


def test_polygons_trace_the_pixel_outline() -> None:
    square = np.zeros((12, 12), bool)
    square[2:9, 3:10] = True  # 7x7 pixels: cv2's centre contour would be 6x6
    assert mask_to_polygons(square) == [[3.0, 2.0, 3.0, 9.0, 10.0, 9.0, 10.0, 2.0]]
    assert mask_bbox(square) == [3.0, 2.0, 7.0, 7.0]

    pieces = np.zeros((10, 10), bool)
    pieces[0, 0] = True  # one pixel
    pieces[3:9, 5] = True  # a 1-pixel-wide line
    pieces[6, 6:9] = True  # with a bend
    polygons = mask_to_polygons(pieces)
    assert len(polygons) == 2
    seg = mask_segmentation(pieces)
    assert seg == polygons
    rles = mask_utils.frPyObjects(seg, 10, 10)
    assert np.array_equal(mask_utils.decode(mask_utils.merge(rles)).astype(bool), pieces)


def test_a_mask_with_a_hole_falls_back_to_rle() -> None:
    ring = np.zeros((16, 16), bool)
    ring[2:14, 2:14] = True
    ring[6:10, 6:10] = False  # COCO polygons cannot leave a hole
    seg = mask_segmentation(ring)
    assert isinstance(seg, dict) and seg['size'] == [16, 16] and isinstance(seg['counts'], str)
    assert np.array_equal(mask_utils.decode(seg).astype(bool), ring)
    json.dumps(seg)  # JSON-ready


def test_inspect_and_remove(coco_root: Path, tmp_path: Path) -> None:
    root = tmp_path / 'coco'
    write_shapes_coco(str(root), **SMALL)
    (root / 'train' / 'mine.png').write_bytes(b'not ours')
    assert inspect_coco_tree(str(root), coco_params(**SMALL)) == 'same'
    assert inspect_coco_tree(str(root), coco_params(**dict(SMALL, seed=1))) == 'different'
    Path(coco_image_path(str(root), 'val', 2)).unlink()
    assert inspect_coco_tree(str(root), coco_params(**SMALL)) == 'incomplete'
    remove_coco_tree(str(root))
    assert sorted(tree_files(root)) == ['train/mine.png']  # only what the writer wrote goes


def test_command_line_writes_then_skips(tmp_path: Path, tool, capsys) -> None:
    assert tool.parse_args(['--format', 'coco']).root == 'data/shapes_coco'
    assert tool.parse_args([]).root == 'data/shapes' and tool.parse_args([]).format == 'cityscapes'
    root = tmp_path / 'shapes_coco'
    assert tool.main(['--format', 'coco', '--root', str(root), *SMALL_ARGS]) == 0
    assert f'Wrote 3 train + 2 val images, 48x48, seed 0 to {root}' in capsys.readouterr().out
    before = tree_files(root)
    assert sorted(p for p in before if p.endswith('.json')) == [
        'annotations/instances_train.json', 'annotations/instances_val.json', 'meta.json']
    assert len([p for p in before if p.endswith('.png')]) == 5

    assert tool.main(['--format', 'coco', '--root', str(root), *SMALL_ARGS]) == 0
    assert 'already holds the shapes data' in capsys.readouterr().out
    assert tree_files(root) == before


def test_command_line_does_not_mix_formats(tmp_path: Path, tool, capsys) -> None:
    write_shapes_tree(str(tmp_path), num_train=3, num_val=2, size=48)
    assert tool.main(['--format', 'coco', '--root', str(tmp_path), *SMALL_ARGS]) == 1
    err = capsys.readouterr().err
    assert '--format cityscapes' in err and '--force' in err
    assert tool.main(['--format', 'coco', '--root', str(tmp_path), *SMALL_ARGS, '--force']) == 0
    assert not list((tmp_path / 'leftImg8bit').rglob('*.png'))  # the Cityscapes tree is gone
    assert inspect_coco_tree(str(tmp_path), coco_params(3, 2, 48)) == 'same'
