"""CocoDataset: category mapping, bad annotations, filtering, and the packed samples."""
import json
from pathlib import Path

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch

from segdet.datasets import CocoDataset
from segdet.datasets.coco import COCO_CLASSES, COCO_PALETTE
from segdet.datasets.transforms import BadSampleError

# JSON category order 1, 5, 90; the metainfo order below gives labels 90 -> 0, 1 -> 1, 5 -> 2.
CATEGORIES = [dict(id=1, name='person'), dict(id=5, name='airplane'),
              dict(id=90, name='toothbrush')]
CLASSES = ('toothbrush', 'person', 'airplane')


def rect(x1: float, y1: float, x2: float, y2: float) -> list:
    """A rectangle polygon."""
    return [x1, y1, x2, y1, x2, y2, x1, y2]


def ann(ann_id: int, img_id: int, cat: int, bbox: list, **kw) -> dict:
    x, y, w, h = bbox
    return dict(id=ann_id, image_id=img_id, category_id=cat, bbox=bbox,
                area=kw.pop('area', w * h), iscrowd=kw.pop('iscrowd', 0), **kw)


def crowd_rle(h: int, w: int, box: tuple) -> dict:
    """Uncompressed RLE (column-major run lengths) of a filled ``box`` (x1, y1, x2, y2)."""
    m = np.zeros((h, w), np.uint8)
    m[box[1]:box[3], box[0]:box[2]] = 1
    flat = m.flatten(order='F')
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts = [0] + counts
    return dict(size=[h, w], counts=counts)


def write_coco(root: Path, images: list, annotations: list, categories=CATEGORIES,
               name: str = 'ann.json') -> str:
    """Write ``root/name`` and a random image ``root/imgs/<file_name>`` for each image."""
    rng = np.random.default_rng(0)
    (root / 'imgs').mkdir(parents=True, exist_ok=True)
    for img in images:
        pixels = rng.integers(0, 255, (img['height'], img['width'], 3), dtype=np.uint8)
        assert cv2.imwrite(str(root / 'imgs' / img['file_name']), pixels)
    path = root / name
    path.write_text(json.dumps(dict(images=images, annotations=annotations,
                                    categories=categories)))
    return str(path)


def standard_json(root: Path) -> str:
    """Image 1 (40x60) with good and bad annotations; 2 empty; 3 crowd only; 4 small."""
    images = [dict(id=1, file_name='a.png', height=40, width=60),
              dict(id=2, file_name='b.png', height=40, width=60),
              dict(id=3, file_name='c.png', height=40, width=60),
              dict(id=4, file_name='d.png', height=20, width=60)]
    compressed = mask_utils.encode(np.asfortranarray(
        np.pad(np.ones((4, 6), np.uint8), ((30, 6), (2, 52)))))
    compressed['counts'] = compressed['counts'].decode()
    anns = [
        ann(11, 1, 1, [10, 5, 20, 10], segmentation=[rect(10, 5, 30, 15)]),
        ann(12, 1, 5, [40, 2, 10, 8], iscrowd=1, segmentation=crowd_rle(40, 60, (40, 2, 50, 10))),
        ann(13, 1, 90, [50, 30, 20, 20], segmentation=[rect(50, 30, 60, 40)]),  # out of image
        ann(14, 1, 1, [0, 0, 0, 5], segmentation=[rect(0, 0, 1, 5)]),  # zero width
        ann(15, 1, 1, [3, 3, 5, 5], area=0, segmentation=[rect(3, 3, 8, 8)]),  # zero area
        ann(16, 1, 1, [5, 20, 4, 4], segmentation=[[1, 1, 3, 1], rect(5, 20, 9, 24)]),
        ann(17, 1, 1, [20, 20, 4, 4], segmentation=[[20, 20, 24, 24]]),  # only degenerate
        ann(18, 1, 5, [70, 0, 5, 5], segmentation=[rect(70, 0, 75, 5)]),  # outside the image
        ann(19, 1, 5, [2, 30, 6, 4], segmentation=compressed),
        ann(31, 3, 1, [1, 1, 10, 10], iscrowd=1, segmentation=crowd_rle(40, 60, (1, 1, 11, 11))),
        ann(41, 4, 90, [1, 1, 10, 10], segmentation=[rect(1, 1, 11, 11)]),
    ]
    return write_coco(root, images, anns)


def make(root: Path, ann_file: str, **kw) -> CocoDataset:
    kw.setdefault('metainfo', dict(classes=CLASSES))
    return CocoDataset(ann_file=ann_file, data_prefix=dict(img=str(root / 'imgs')), **kw)


def img_ids(ds: CocoDataset) -> list:
    return [ds.get_data_info(i)['img_id'] for i in range(len(ds))]


def test_parses_instances_with_non_contiguous_ids(tmp_path: Path) -> None:
    ds = make(tmp_path, standard_json(tmp_path), test_mode=True)
    assert ds.cat_ids == [90, 1, 5] and ds.cat2label == {90: 0, 1: 1, 5: 2}
    assert img_ids(ds) == [1, 2, 3, 4]
    info = ds.get_data_info(0)
    assert info['img_path'] == str(tmp_path / 'imgs' / 'a.png') and info['img_id'] == 1
    assert (info['width'], info['height'], info['seg_map_path']) == (60, 40, None)
    by_box = {tuple(i['bbox']): i for i in info['instances']}
    # 14 (w=0), 15 (area 0) and 18 (outside) are dropped; 13 is clipped to the image.
    assert list(by_box) == [(10., 5., 30., 15.), (40., 2., 50., 10.), (50., 30., 60., 40.),
                            (5., 20., 9., 24.), (20., 20., 24., 24.), (2., 30., 8., 34.)]
    assert [i['bbox_label'] for i in info['instances']] == [1, 2, 0, 1, 1, 2]
    assert [i['ignore_flag'] for i in info['instances']] == [0, 1, 0, 0, 0, 0]
    assert by_box[(10., 5., 30., 15.)]['mask'] == [rect(10, 5, 30, 15)]
    assert by_box[(5., 20., 9., 24.)]['mask'] == [rect(5, 20, 9, 24)]  # [1,1,3,1] dropped
    assert by_box[(20., 20., 24., 24.)]['mask'] == []  # box kept, no valid polygon
    assert by_box[(40., 2., 50., 10.)]['mask']['size'] == [40, 60]
    assert isinstance(by_box[(2., 30., 8., 34.)]['mask']['counts'], str)
    assert ds.get_data_info(1)['instances'] == []


def test_filter_empty_and_small_images_in_training_only(tmp_path: Path) -> None:
    ann_file = standard_json(tmp_path)
    cfg = dict(filter_empty_gt=True, min_size=32)
    train = make(tmp_path, ann_file, filter_cfg=cfg)
    # 2 has no instance, 3 only a crowd one, 4 is 20 pixels high.
    assert img_ids(train) == [1]
    assert img_ids(make(tmp_path, ann_file, filter_cfg=cfg, test_mode=True)) == [1, 2, 3, 4]
    only_size = make(tmp_path, ann_file, filter_cfg=dict(filter_empty_gt=False, min_size=32))
    assert img_ids(only_size) == [1, 2, 3]
    assert len(make(tmp_path, ann_file)) == 4  # no filter_cfg
    with pytest.raises(ValueError, match='filter_emtpy_gt'):
        make(tmp_path, ann_file, filter_cfg=dict(filter_emtpy_gt=True))


def test_class_subset_by_name(tmp_path: Path) -> None:
    ds = make(tmp_path, standard_json(tmp_path), metainfo=dict(classes=('airplane', )),
              test_mode=True)
    assert ds.cat_ids == [5] and ds.cat2label == {5: 0}
    assert ds.metainfo['palette'] == [COCO_PALETTE[COCO_CLASSES.index('airplane')]]
    inst = ds.get_data_info(0)['instances']
    assert [(i['bbox'], i['bbox_label']) for i in inst] == [([40., 2., 50., 10.], 0),
                                                           ([2., 30., 8., 34.], 0)]


def test_default_metainfo_is_coco_and_needs_all_classes(tmp_path: Path) -> None:
    assert len(CocoDataset.METAINFO['classes']) == 80 == len(CocoDataset.METAINFO['palette'])
    assert len(set(CocoDataset.METAINFO['palette'])) == 80
    ann_file = standard_json(tmp_path)
    with pytest.raises(ValueError, match=r"\['bicycle', 'car'.*ann\.json"):
        CocoDataset(ann_file=ann_file, data_prefix=dict(img=str(tmp_path / 'imgs')))
    with pytest.raises(ValueError, match='bus'):
        make(tmp_path, ann_file, metainfo=dict(classes=('person', 'bus')))


def test_unknown_category_names_annotation_and_image(tmp_path: Path) -> None:
    images = [dict(id=7, file_name='a.png', height=8, width=8)]
    anns = [ann(1, 7, 1, [0, 0, 4, 4]), ann(1234, 7, 3, [0, 0, 4, 4])]
    ann_file = write_coco(tmp_path, images, anns)
    with pytest.raises(ValueError, match=r'annotation id 1234 of image id 7 .*category_id 3'):
        make(tmp_path, ann_file)
    anns = [ann(55, 8, 1, [0, 0, 4, 4])]
    ann_file = write_coco(tmp_path, images, anns, name='orphan.json')
    with pytest.raises(ValueError, match=r'annotation id 55 .*image id 8'):
        make(tmp_path, ann_file)


def test_bad_rle_names_annotation(tmp_path: Path) -> None:
    images = [dict(id=7, file_name='a.png', height=8, width=8)]
    anns = [ann(99, 7, 1, [0, 0, 4, 4], segmentation=dict(size=[9, 8], counts=[72]))]
    with pytest.raises(ValueError, match=r'annotation id 99 of image id 7.*\[8, 8\]'):
        make(tmp_path, write_coco(tmp_path, images, anns))


def test_paths_join_data_root(tmp_path: Path) -> None:
    standard_json(tmp_path)
    ds = CocoDataset(ann_file='ann.json', data_root=str(tmp_path), data_prefix=dict(img='imgs/'),
                     metainfo=dict(classes=CLASSES), test_mode=True)
    assert ds.get_data_info(0)['img_path'] == str(tmp_path / 'imgs' / 'a.png')
    with pytest.raises(FileNotFoundError, match='nope.json'):
        make(tmp_path, str(tmp_path / 'nope.json'))
    with pytest.raises(ValueError, match="'img'"):
        CocoDataset(ann_file='ann.json', data_root=str(tmp_path), data_prefix=dict(img_path=''))


def test_pipeline_packs_instances_and_ignored(tmp_path: Path) -> None:
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                dict(type='PackDetInputs')]
    ds = make(tmp_path, standard_json(tmp_path), pipeline=pipeline,
              filter_cfg=dict(filter_empty_gt=True, min_size=32))
    out = ds[0]
    assert out['inputs'].shape == (3, 40, 60)
    sample = out['data_samples']
    assert sample.img_id == 1 and sample.ori_shape == (40, 60)
    gt, ign = sample.gt_instances, sample.ignored_instances
    # Crowd 12 and 17 (no valid polygon) are ignored.
    assert gt.bboxes.tolist() == [[10, 5, 30, 15], [50, 30, 60, 40], [5, 20, 9, 24],
                                  [2, 30, 8, 34]]
    assert gt.labels.tolist() == [1, 0, 1, 2]
    assert ign.bboxes.tolist() == [[40, 2, 50, 10], [20, 20, 24, 24]]
    assert ign.labels.tolist() == [2, 1]
    assert gt.masks.shape == (4, 40, 60) and gt.masks.dtype == torch.uint8
    for box, mask in zip(gt.bboxes.int().tolist() + ign.bboxes.int().tolist()[:1],
                         list(gt.masks) + list(ign.masks)[:1]):
        expected = torch.zeros(40, 60, dtype=torch.uint8)
        expected[box[1]:box[3], box[0]:box[2]] = 1
        assert torch.equal(mask, expected), box
    assert ign.masks[1].sum() == 0


def test_missing_image_raises_bad_sample(tmp_path: Path) -> None:
    ann_file = standard_json(tmp_path)
    (tmp_path / 'imgs' / 'a.png').unlink()
    ds = make(tmp_path, ann_file, pipeline=[dict(type='LoadImageFromFile')], test_mode=True)
    with pytest.raises(BadSampleError, match='a.png'):
        ds[0]


def test_negative_box_size_names_annotation_and_image(tmp_path: Path) -> None:
    # mmdet drops such a box and its object silently becomes background.
    images = [dict(id=7, file_name='a.png', height=8, width=8)]
    for bbox in ([6, 0, -4, 4], [0, 6, 4, -4]):
        anns = [ann(1, 7, 1, [0, 0, 4, 4]), ann(42, 7, 5, bbox, area=16)]
        with pytest.raises(ValueError) as err:
            make(tmp_path, write_coco(tmp_path, images, anns))
        msg = str(err.value)
        assert 'annotation id 42 of image id 7' in msg and str(tmp_path / 'ann.json') in msg
        assert 'negative width or height' in msg and '[x, y, width, height]' in msg
    # Boxes under 1 pixel (not negative) are still dropped, as mmdet does.
    anns = [ann(1, 7, 1, [0, 0, 4, 4]), ann(43, 7, 5, [0, 0, 0.5, 4])]
    ds = make(tmp_path, write_coco(tmp_path, images, anns), test_mode=True)
    assert [i['bbox'] for i in ds.get_data_info(0)['instances']] == [[0., 0., 4., 4.]]


def test_truncated_json_names_the_file(tmp_path: Path) -> None:
    ann_file = Path(standard_json(tmp_path))
    text = ann_file.read_text()
    ann_file.write_text(text[:len(text) // 2])
    with pytest.raises(ValueError) as err:
        make(tmp_path, str(ann_file))
    msg = str(err.value)
    assert msg.startswith(f'CocoDataset: annotation file {ann_file} is not valid JSON')
    assert 'line 1, column' in msg and 'truncated' in msg
    ann_file.write_text('[]')
    with pytest.raises(ValueError, match=f'{ann_file} holds a JSON list'):
        make(tmp_path, str(ann_file))


def test_filters_that_leave_no_image_say_why(tmp_path: Path) -> None:
    # mmengine used to fail with "need at least one array to concatenate".
    images = [dict(id=1, file_name='a.png', height=40, width=60),
              dict(id=2, file_name='b.png', height=20, width=60)]
    anns = [ann(11, 2, 1, [0, 0, 4, 4]), ann(12, 1, 5, [0, 0, 4, 4], iscrowd=1)]
    ann_file = write_coco(tmp_path, images, anns)
    with pytest.raises(ValueError) as err:
        make(tmp_path, ann_file, filter_cfg=dict(filter_empty_gt=True, min_size=32))
    msg = str(err.value)
    assert f'no image of ann_file {ann_file} is left after filter_cfg=' in msg
    assert 'of its 2 images, 1 have no instance that is not ignored' in msg
    assert '1 have a shorter side below min_size=32' in msg
    with pytest.raises(ValueError, match='2 have no instance') as err:
        make(tmp_path, ann_file, filter_cfg=dict(filter_empty_gt=True),
             metainfo=dict(classes=('toothbrush', 'airplane')))
    assert 'min_size' not in str(err.value)
    assert len(make(tmp_path, ann_file, filter_cfg=dict(filter_empty_gt=True))) == 1
    empty = write_coco(tmp_path, [], [], name='empty.json')
    with pytest.raises(ValueError, match=f'ann_file {empty} has no images'):
        make(tmp_path, empty, test_mode=True)
