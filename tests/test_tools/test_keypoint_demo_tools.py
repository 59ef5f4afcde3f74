"""The Keypoint R-CNN demo config through tools/train.py and tools/test.py on a tiny tree of
the shapes generator's keypoints format (the rectangles' corners): it trains a few iterations,
logs the keypoint loss and keypoint AP, and tools/test.py writes ``results.keypoints.json``
with the four corners of every detection, which pycocotools loads against the tree's json."""
import json
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from segdet.datasets.synthetic import KEYPOINT_NAMES, keypoint_ann_path, write_shapes_keypoints
from tool_run_helpers import REPO, cli_options, run_tool

DEMO = REPO / 'configs' / 'demo' / 'keypoint-rcnn_r18_fpn_1xb8-1000_shapes-keypoints.py'
ITERS = 2


def options(root: Path) -> dict:
    val_ann = keypoint_ann_path(str(root), 'val')
    opts = {'val_evaluator.ann_file': val_ann, 'test_evaluator.ann_file': val_ann,
            'train_cfg.max_iters': ITERS, 'train_cfg.val_interval': ITERS,
            'train_dataloader.batch_size': 2, 'default_hooks.checkpoint.interval': ITERS,
            'default_hooks.logger.interval': 1, 'model.backbone.base_channels': 16,
            'model.neck.in_channels': (16, 32, 64, 128),
            'model.roi_head.keypoint_head.conv_out_channels': 32,
            'model.test_cfg.rcnn.score_thr': 0.0,  # detections from a 2-iteration model
            'visualizer.name': 'keypoint_demo_vis'}
    for split in ('train', 'val', 'test'):
        opts.update({f'{split}_dataloader.dataset.data_root': f'{root}/',
                     f'{split}_dataloader.num_workers': 0,
                     f'{split}_dataloader.persistent_workers': False})
    return opts


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp('keypoint_demo')
    root = base / 'shapes_keypoints'
    write_shapes_keypoints(str(root), num_train=8, num_val=3, size=64, seed=0)
    work = base / 'work'
    done = run_tool('train.py', str(DEMO), '--work-dir', str(work), '--cfg-options',
                    *cli_options(options(root)))
    assert done.returncode == 0, done.stderr[-4000:]
    return root, work, done


def test_train_logs_the_keypoint_loss_and_keypoint_ap(trained):
    _, work, done = trained
    log = done.stdout + done.stderr
    for key in ('loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_keypoint', 'coco/bbox_mAP',
                'coco/keypoints_mAP', 'coco/keypoints_mAP_50'):
        assert key in log, key
    assert (work / f'iter_{ITERS}.pth').is_file()


def test_test_tool_writes_the_corners_of_every_detection(trained, tmp_path):
    root, work, _ = trained
    out = tmp_path / 'out'
    done = run_tool('test.py', str(DEMO), str(work / f'iter_{ITERS}.pth'), '--work-dir',
                    str(tmp_path / 'test_work'), '--out', str(out), '--cfg-options',
                    *cli_options(options(root)))
    assert done.returncode == 0, done.stderr[-4000:]
    gt = COCO(keypoint_ann_path(str(root), 'val'))
    results = json.loads((out / 'results.keypoints.json').read_text())
    assert results and all(len(r['keypoints']) == 3 * len(KEYPOINT_NAMES) for r in results)
    assert all(r['category_id'] == 1 for r in results)
    assert set(gt.loadRes(str(out / 'results.keypoints.json')).getImgIds()) <= \
        set(gt.getImgIds())
