"""CocoDataset with COCO person keypoints: loading, metainfo, bad input and min_keypoints."""
import json
from pathlib import Path

import numpy as np
import pytest

from segdet.datasets import CocoDataset
from segdet.datasets.coco_keypoints import (COCO_PERSON_FLIP_INDICES, COCO_PERSON_KEYPOINTS,
                                            COCO_PERSON_SIGMAS, check_flip_indices,
                                            parse_keypoints)

# K = 4 hand-made keypoints with two left/right pairs.
NAMES = ['left_a', 'right_a', 'left_b', 'right_b']
FLIP = [1, 0, 3, 2]


def kp_ann(ann_id: int, img_id: int, kps: list, cat: int = 1, **kw) -> dict:
    return dict(id=ann_id, image_id=img_id, category_id=cat, bbox=[2, 2, 20, 20], area=400,
                iscrowd=kw.pop('iscrowd', 0), keypoints=kps,
                num_keypoints=sum(1 for v in kps[2::3] if v > 0), **kw)


def write_json(root: Path, annotations: list, categories: list = None,
               num_images: int = 3) -> str:
    categories = categories or [dict(id=1, name='thing', keypoints=NAMES,
                                     skeleton=[[1, 2], [3, 4]])]
    images = [dict(id=i, file_name=f'{i}.png', width=40, height=30)
              for i in range(1, num_images + 1)]
    path = root / 'kps.json'
    path.write_text(json.dumps(dict(images=images, annotations=annotations,
                                    categories=categories)))
    return str(path)


def good_anns() -> list:
    return [
        kp_ann(1, 1, [5, 6, 2, 30, 6, 1, 0, 0, 0, 12, 20, 2]),
        kp_ann(2, 2, [0] * 12),  # an instance with no labelled keypoint
        dict(id=3, image_id=2, category_id=1, bbox=[1, 1, 5, 5], area=25, iscrowd=0),
    ]


def dataset(tmp_path: Path, anns: list = None, **kw) -> CocoDataset:
    kw.setdefault('metainfo', dict(classes=('thing', ), flip_indices=FLIP))
    return CocoDataset(ann_file=write_json(tmp_path, good_anns() if anns is None else anns),
                       **kw)


def test_instances_get_keypoints_and_metainfo(tmp_path):
    ds = dataset(tmp_path)
    info = ds.get_data_info(0)
    kps = info['instances'][0]['keypoints']
    assert kps.dtype == np.float32 and kps.shape == (4, 3)
    np.testing.assert_array_equal(kps, np.array([[5, 6, 2], [30, 6, 1], [0, 0, 0], [12, 20, 2]]))
    # An annotation without keypoints in a keypoint data set: K unlabelled keypoints.
    np.testing.assert_array_equal(ds.get_data_info(1)['instances'][1]['keypoints'],
                                  np.zeros((4, 3)))
    assert info['flip_indices'] == FLIP and info['keypoints_per_instance'] == 4
    meta = ds.metainfo
    assert meta['keypoint_names'] == tuple(NAMES)
    assert meta['skeleton'] == [(0, 1), (2, 3)]  # the json's are 1-based
    assert meta['flip_indices'] == FLIP and 'sigmas' not in meta


def test_coco_person_defaults(tmp_path):
    cats = [dict(id=1, name='person', keypoints=list(COCO_PERSON_KEYPOINTS), skeleton=[[16, 14]])]
    ann = kp_ann(1, 1, [1, 1, 2] * 17)
    ds = CocoDataset(ann_file=write_json(tmp_path, [ann], cats),
                     metainfo=dict(classes=('person', )))
    assert ds.metainfo['flip_indices'] == list(COCO_PERSON_FLIP_INDICES)
    assert ds.metainfo['sigmas'] == pytest.approx(COCO_PERSON_SIGMAS)
    assert ds.metainfo['skeleton'] == [(15, 13)]
    assert COCO_PERSON_KEYPOINTS[COCO_PERSON_FLIP_INDICES[5]] == 'right_shoulder'


def test_no_keypoints_means_no_keypoint_fields(tmp_path):
    anns = [dict(id=1, image_id=1, category_id=1, bbox=[1, 1, 5, 5], area=25, iscrowd=0)]
    ds = CocoDataset(ann_file=write_json(tmp_path, anns, [dict(id=1, name='thing')]),
                     metainfo=dict(classes=('thing', )))
    info = ds.get_data_info(0)
    assert 'keypoints' not in info['instances'][0] and 'flip_indices' not in info
    assert 'keypoint_names' not in ds.metainfo


@pytest.mark.parametrize('kps, value', [
    ([5, 6, 2, 30, 6, 1, 0, 0, 0], '9 numbers'),
    ([5, 6, 2, 30, 6, 3, 0, 0, 0, 12, 20, 2], 'visibility 3'),
    ([5, 6, 2, 30, 6, -1, 0, 0, 0, 12, 20, 2], 'visibility -1'),
])
def test_bad_keypoints_name_annotation_image_and_value(tmp_path, kps, value):
    anns = good_anns() + [kp_ann(17, 3, kps)]
    with pytest.raises(ValueError, match=rf'annotation id 17 of image id 3 .*{value}'):
        dataset(tmp_path, anns)


@pytest.mark.parametrize('flip', [[1, 0, 3], [1, 0, 3, 3], [1, 0, 2, 4], [1, 2, 3, 0]])
def test_bad_flip_indices(tmp_path, flip):
    with pytest.raises(ValueError, match=r'flip_indices \[' + ', '.join(map(str, flip))):
        dataset(tmp_path, metainfo=dict(classes=('thing', ), flip_indices=flip))


def test_keypoints_without_names_and_other_bad_metainfo(tmp_path):
    anns = [kp_ann(4, 1, [1, 1, 2])]
    with pytest.raises(ValueError, match='annotation id 4 of image id 1 has keypoints'):
        CocoDataset(ann_file=write_json(tmp_path, anns, [dict(id=1, name='thing')]),
                    metainfo=dict(classes=('thing', )))
    with pytest.raises(ValueError, match='sigmas'):
        dataset(tmp_path, metainfo=dict(classes=('thing', ), sigmas=[.1, .1]))
    with pytest.raises(ValueError, match='keypoint_names has 3 names'):
        dataset(tmp_path, metainfo=dict(classes=('thing', ), keypoint_names=['a', 'b', 'c']))


def test_min_keypoints_filter(tmp_path):
    # image 1: 3 labelled keypoints; 2: none; 3: no annotation.
    kept = dataset(tmp_path, filter_cfg=dict(min_keypoints=1))
    assert [kept.get_data_info(i)['img_id'] for i in range(len(kept))] == [1]
    assert len(dataset(tmp_path, filter_cfg=dict(min_keypoints=3))) == 1
    assert len(dataset(tmp_path, filter_cfg=dict(min_keypoints=1), test_mode=True)) == 3
    with pytest.raises(ValueError, match='fewer than min_keypoints=4'):
        dataset(tmp_path, filter_cfg=dict(min_keypoints=4))
    # A crowd's keypoints do not count.
    crowd = [kp_ann(1, 1, [5, 6, 2] * 4, iscrowd=1)]
    with pytest.raises(ValueError, match='of its 3 images, 3 have fewer than min_keypoints=1'):
        dataset(tmp_path, crowd, filter_cfg=dict(min_keypoints=1))


def test_functions():
    assert check_flip_indices((1, 0, 2), 3) == [1, 0, 2]
    with pytest.raises(ValueError, match='not a permutation'):
        check_flip_indices([0, 0], 2)
    with pytest.raises(ValueError, match='does not swap pairs'):
        check_flip_indices([1, 2, 0], 3)
    assert parse_keypoints(None, 2).shape == (2, 3)
    assert parse_keypoints([1, 2, 2.0], 1).tolist() == [[1, 2, 2]]
