"""segdet/datasets/synthetic/coco_keypoints_writer.py and ``make_shapes_data.py --format
keypoints``: the rectangles' corners as COCO keypoints, named so that a mirror swaps left and
right, with visibility from the visible mask, read back by pycocotools and CocoDataset."""
import contextlib
import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO

from segdet.datasets import CocoDataset
from segdet.datasets.synthetic import (FLIP_INDICES, KEYPOINT_NAMES, ShapeInstance, ShapeSpec,
                                       ShapesSample, generate_sample, inspect_keypoint_tree,
                                       keypoint_ann_path, keypoint_params, rectangle_corners,
                                       remove_keypoint_tree, shape_mask, write_shapes_coco,
                                       write_shapes_keypoints)
from segdet.datasets.synthetic.coco_keypoints_writer import rectangle_annotations
from segdet.datasets.synthetic.shapes import RECTANGLE

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'misc' / 'make_shapes_data.py'
SMALL = dict(num_train=8, num_val=4, size=64, seed=0)
@pytest.fixture(scope='module')
def keypoint_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('shapes_keypoints')
    write_shapes_keypoints(str(root), **SMALL)
    return root


def load_coco(path: str) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(path)


def rectangle(x: int = 10, y: int = 20, w: int = 20, h: int = 16) -> ShapeSpec:
    return ShapeSpec(RECTANGLE, x, y, w, h, (0, 0, 255))


def test_rectangle_corners_by_hand() -> None:
    # pixels x 10..29, y 20..35
    assert rectangle_corners(rectangle()).tolist() == [[10, 20], [29, 20], [29, 35], [10, 35]]
    assert list(KEYPOINT_NAMES) == ['top_left', 'top_right', 'bottom_right', 'bottom_left']


@pytest.mark.parametrize('x, w', [(0, 7), (10, 20), (44, 20)])
def test_a_mirror_swaps_left_and_right(x: int, w: int) -> None:
    """The corners of the mirrored rectangle are the mirrored corners with the names swapped
    by FLIP_INDICES: the pairs RandomFlip must swap."""
    size = 64
    spec = rectangle(x=x, w=w)
    mirror = rectangle(x=size - x - w, w=w)
    assert np.array_equal(shape_mask(mirror, size), shape_mask(spec, size)[:, ::-1])
    mirrored = rectangle_corners(spec).copy()
    mirrored[:, 0] = size - 1 - mirrored[:, 0]
    assert rectangle_corners(mirror).tolist() == mirrored[list(FLIP_INDICES)].tolist()
    assert [KEYPOINT_NAMES[i] for i in FLIP_INDICES] == [
        'top_right', 'top_left', 'bottom_left', 'bottom_right']


def test_visibility_and_pixel_centres_by_hand() -> None:
    """A corner covered by a later shape is labelled but not visible (v 1); coordinates are
    pixel centres; circles and triangles are not annotated."""
    size = 64
    spec = rectangle()
    visible = shape_mask(spec, size)
    visible[30:, :12] = False  # a later shape hides the bottom-left corner (10, 35)
    circle = ShapeSpec(1, 40, 40, 10, 10, (255, 0, 0))
    sample = ShapesSample(np.zeros((size, size, 3), np.uint8), np.zeros((size, size), np.uint8),
                          [ShapeInstance(circle, shape_mask(circle, size)),
                           ShapeInstance(spec, visible)])
    [ann] = rectangle_annotations(sample, image_id=7, first_ann_id=3)
    assert ann['id'] == 3 and ann['image_id'] == 7 and ann['category_id'] == 1
    assert ann['keypoints'] == [10.5, 20.5, 2, 29.5, 20.5, 2, 29.5, 35.5, 2, 10.5, 35.5, 1]
    assert ann['num_keypoints'] == 4
    assert ann['area'] == float(visible.sum())


def test_tree_reads_back_with_pycocotools(keypoint_root: Path) -> None:
    for split, count in (('train', SMALL['num_train']), ('val', SMALL['num_val'])):
        coco = load_coco(keypoint_ann_path(str(keypoint_root), split))
        [cat] = coco.loadCats(coco.getCatIds())
        assert cat['name'] == 'rectangle' and cat['keypoints'] == list(KEYPOINT_NAMES)
        assert cat['skeleton'] == [[1, 2], [2, 3], [3, 4], [4, 1]]
        assert len(coco.getImgIds()) == count
        expected = 0
        for index in range(count):
            sample = generate_sample(SMALL['seed'], split, index, SMALL['size'])
            rects = [i for i in sample.instances if i.label == RECTANGLE]
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[index + 1]))
            assert len(anns) == len(rects)
            for inst, ann in zip(rects, anns):
                points = np.array(ann['keypoints']).reshape(4, 3)
                assert np.array_equal(points[:, :2] - 0.5, rectangle_corners(inst.spec))
                for (x, y), v in zip(rectangle_corners(inst.spec), points[:, 2]):
                    assert v == (2 if inst.mask[y, x] else 1)
            expected += len(rects)
        assert len(coco.getAnnIds()) == expected


def test_same_images_as_the_coco_tree(keypoint_root: Path, tmp_path: Path) -> None:
    write_shapes_coco(str(tmp_path), **SMALL)
    for split in ('train', 'val'):
        for path in (keypoint_root / split).iterdir():
            assert path.read_bytes() == (tmp_path / split / path.name).read_bytes()


def test_coco_dataset_reads_the_keypoints(keypoint_root: Path) -> None:
    meta = json.loads((keypoint_root / 'meta.json').read_text())
    dataset = CocoDataset(
        data_root=str(keypoint_root), ann_file='annotations/rectangle_keypoints_train.json',
        data_prefix=dict(img='train/'), metainfo=dict(classes=('rectangle', ),
                                                      flip_indices=meta['flip_indices'],
                                                      sigmas=[0.05] * 4),
        filter_cfg=dict(filter_empty_gt=True, min_keypoints=1), pipeline=[])
    assert dataset.metainfo['flip_indices'] == list(FLIP_INDICES)
    assert len(dataset) == sum(
        any(i.label == RECTANGLE for i in generate_sample(0, 'train', k, 64).instances)
        for k in range(SMALL['num_train']))
    item = dataset[0]
    assert item['flip_indices'] == list(FLIP_INDICES)
    assert all(len(inst['keypoints']) == 4 for inst in item['instances'])


def test_inspect_and_remove(keypoint_root: Path, tmp_path: Path) -> None:
    params = keypoint_params(**SMALL)
    assert inspect_keypoint_tree(str(keypoint_root), params) == 'same'
    assert inspect_keypoint_tree(str(keypoint_root), keypoint_params(**{**SMALL, 'seed': 1})) \
        == 'different'
    root = tmp_path / 'kp'
    write_shapes_keypoints(str(root), num_train=2, num_val=1, size=48)
    (root / 'mine.txt').write_text('keep')
    remove_keypoint_tree(str(root))
    assert sorted(p.name for p in root.iterdir()) == ['mine.txt']


def test_command_line_format_keypoints(tmp_path: Path, capsys) -> None:
    spec = importlib.util.spec_from_file_location('make_shapes_data', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    root = tmp_path / 'kp'
    args = ['--format', 'keypoints', '--root', str(root), '--num-train', '3', '--num-val', '2',
            '--size', '48']
    assert tool.main(args) == 0
    assert (root / 'annotations' / 'rectangle_keypoints_val.json').is_file()
    assert json.loads((root / 'meta.json').read_text())['params']['format'] == 'keypoints'
    assert tool.main(args) == 0
    assert 'already holds' in capsys.readouterr().out
    # the COCO instances format over it needs --force, and then leaves no keypoint file
    coco_args = ['--format', 'coco'] + args[2:]
    assert tool.main(coco_args) == 1
    assert tool.main(coco_args + ['--force']) == 0
    assert not (root / 'annotations' / 'rectangle_keypoints_val.json').exists()
    assert (root / 'annotations' / 'instances_val.json').is_file()
