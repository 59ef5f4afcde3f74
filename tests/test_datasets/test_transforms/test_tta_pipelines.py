"""Every shipped ``tta_pipeline`` builds from segdet's transforms and runs on the shapes data:
TestTimeAug (mmcv), Resize with scale_factor / keep_ratio, RandomFlip with prob 1/0 and a
direction, LoadAnnotations after or before the views, PackSegInputs / PackDetInputs."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from segdet.datasets.synthetic import write_shapes_coco
from segdet.registry import DATASETS

CONFIGS = Path(__file__).resolve().parents[3] / 'configs'
SEG_BASES = ['_base_/datasets/cityscapes.py', '_base_/datasets/ade20k.py',
             '_base_/datasets/pascal_voc12.py', '_base_/datasets/pascal_voc12_aug.py',
             'demo/deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py',
             'demo/fast_scnn_1xb8-1500_shapes-128x128.py']
DET_BASES = ['_base_/datasets/coco_detection.py', '_base_/datasets/coco_instance.py',
             'demo/mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py']
RATIOS = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('shapes_coco'))
    write_shapes_coco(root, num_train=1, num_val=1, size=64, seed=0)
    return root


@pytest.mark.parametrize('name', SEG_BASES)
def test_segmentation_tta_pipeline_runs_on_shapes(name, shapes_root):
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.img_ratios == RATIOS
    init_default_scope('segdet')
    dataset = DATASETS.build(dict(
        type='ShapesDataset', data_root=shapes_root, pipeline=cfg.tta_pipeline,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val')))
    item = dataset[0]
    views = item['data_samples']
    assert len(item['inputs']) == len(views) == 12
    # Views in TestTimeAug's order: each ratio unflipped, then flipped.
    assert [(v.scale_factor, v.flip) for v in views] == [
        ((r, r), f) for r in RATIOS for f in (False, True)]
    assert [tuple(x.shape[1:]) for x in item['inputs']] == [
        (int(64 * r + 0.5), ) * 2 for r in RATIOS for _ in range(2)]
    assert all(v.flip_direction == 'horizontal' for v in views if v.flip)
    first = item['inputs'][0].numpy()
    assert np.array_equal(item['inputs'][1].numpy(), first[:, :, ::-1])  # the flipped view
    # The labels are loaded after the views are made: every view has the original map.
    gt = views[0].gt_sem_seg.data
    assert gt.shape == (1, 64, 64) and all(v.gt_sem_seg.data.equal(gt) for v in views)
    assert all(v.ori_shape == (64, 64) for v in views)


@pytest.mark.parametrize('name', DET_BASES)
def test_detection_tta_pipeline_runs_on_shapes_coco(name, coco_root):
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.tta_model == dict(type='DetTTAModel', tta_cfg=dict(
        nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    # What mmdetection 3.3.0's tools/test.py --tta builds for a config without these keys:
    # the test pipeline with its last step replaced by a flipped and an unflipped view.
    assert cfg.tta_pipeline[:-1] == cfg.test_pipeline[:-1]
    assert cfg.tta_pipeline[-1] == dict(type='TestTimeAug', transforms=[
        [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
        [dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                               'scale_factor', 'flip', 'flip_direction'))]])
    init_default_scope('segdet')
    dataset = DATASETS.build(dict(
        type='CocoDataset', data_root=coco_root, ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'), metainfo=dict(classes=('circle', 'rectangle', 'triangle')),
        test_mode=True, pipeline=cfg.tta_pipeline))
    item = dataset[0]
    flipped, straight = item['data_samples']
    assert (flipped.flip, straight.flip) == (True, False)
    assert flipped.flip_direction == 'horizontal'
    assert flipped.img_id == straight.img_id and flipped.ori_shape == (64, 64)
    assert item['inputs'][0].numpy().tolist() == item['inputs'][1].numpy()[:, :, ::-1].tolist()
    # Ground truth is loaded before the views: flipped with the flipped image.
    w = flipped.img_shape[1]
    boxes, ref = flipped.gt_instances.bboxes, straight.gt_instances.bboxes
    assert len(ref) > 0
    assert np.allclose(boxes[:, [0, 2]], w - ref[:, [2, 0]])
    if 'masks' in straight.gt_instances:
        assert np.array_equal(np.asarray(flipped.gt_instances.masks),
                              np.asarray(straight.gt_instances.masks)[:, :, ::-1])
