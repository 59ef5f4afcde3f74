"""The Keypoint R-CNN config through tools/train.py and tools/test.py on a tiny COCO
person-keypoints-style tree (the shapes data's rectangles, their four corners as keypoints):
training logs the keypoint loss and keypoint AP, testing writes ``results.keypoints.json``
that pycocotools loads and draws keypoints with --show-dir. Reduced widths and sizes through
``--cfg-options``; no pretrained weights are loaded."""
import json
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from segdet.datasets.synthetic import write_shapes_coco
from tool_run_helpers import REPO, cli_options, coco_tree_options, run_tool

CONFIG = REPO / 'configs' / 'keypoint_rcnn' / 'keypoint-rcnn_r50-caffe_fpn_1x_coco.py'
CORNERS = ['top_left', 'top_right', 'bottom_right', 'bottom_left']
ITERS = 2


def write_corner_keypoints(root: Path) -> None:
    """Rewrite the shapes COCO tree's annotations as one 'person' class whose instances are
    the rectangles, with their corners as four labelled keypoints (left/right pairs 0-1, 3-2)."""
    write_shapes_coco(str(root), num_train=6, num_val=3, size=64, seed=0)
    for split in ('train', 'val'):
        data = json.loads((root / 'annotations' / f'instances_{split}.json').read_text())
        rect = next(c['id'] for c in data['categories'] if c['name'] == 'rectangle')
        anns = []
        for ann in data['annotations']:
            if ann['category_id'] != rect:
                continue
            x, y, w, h = ann['bbox']
            ann.update(category_id=1, num_keypoints=4,
                       keypoints=[x, y, 2, x + w, y, 2, x + w, y + h, 2, x, y + h, 2])
            anns.append(ann)
        data['annotations'] = anns
        data['categories'] = [dict(id=1, name='person', supercategory='person',
                                   keypoints=CORNERS, skeleton=[[1, 2], [2, 3], [3, 4], [4, 1]])]
        (root / 'annotations' / f'person_keypoints_{split}.json').write_text(json.dumps(data))


def options(root: Path) -> dict:
    opts = {
        'model.backbone.init_cfg': None,  # no download in tests
        'model.roi_head.keypoint_head.num_keypoints': 4,
        'model.roi_head.keypoint_head.num_convs': 2,
        'model.roi_head.keypoint_head.conv_out_channels': 32,
        'model.roi_head.bbox_head.fc_out_channels': 64,
        'model.train_cfg.rcnn.sampler.num': 64,
        'model.test_cfg.rcnn.score_thr': 0.0,  # detections from a 2-iteration model
        'randomness.seed': 0,
        # the recipe's 0.02 for 16 images can diverge on 2 (no detection left)
        'optim_wrapper.optimizer.lr': 0.0025,
        'train_cfg.max_iters': ITERS, 'train_cfg.val_interval': ITERS,
        'default_hooks.checkpoint.interval': ITERS, 'default_hooks.logger.interval': 1,
        'train_dataloader.batch_size': 2,
        'train_dataloader.dataset.filter_cfg.min_keypoints': 1,
        'train_dataloader.dataset.pipeline.2.scales': [(64, 64)],
        'visualizer.name': 'keypoint_tools_vis',
    }
    opts.update(coco_tree_options(root, 'person_keypoints',
                                  dict(flip_indices=[1, 0, 3, 2], sigmas=[0.05] * 4)))
    return opts


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp('keypoint_tools')
    root = base / 'corners'
    write_corner_keypoints(root)
    work = base / 'work'
    done = run_tool('train.py', str(CONFIG), '--work-dir', str(work), '--cfg-options',
                    *cli_options(options(root)))
    assert done.returncode == 0, done.stderr[-4000:]
    return root, work, done


def test_train_logs_the_keypoint_loss_and_keypoint_ap(trained):
    _, work, done = trained
    log = done.stdout + done.stderr
    for key in ('loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_keypoint', 'coco/bbox_mAP',
                'coco/keypoints_mAP'):
        assert key in log, key
    assert (work / f'iter_{ITERS}.pth').is_file()


def test_test_tool_writes_keypoint_results_and_draws_them(trained, tmp_path):
    root, work, _ = trained
    out, show = tmp_path / 'out', tmp_path / 'show'
    done = run_tool('test.py', str(CONFIG), str(work / f'iter_{ITERS}.pth'), '--work-dir',
                    str(tmp_path / 'test_work'), '--out', str(out), '--show-dir', str(show),
                    '--cfg-options', *cli_options(options(root)))
    assert done.returncode == 0, done.stderr[-4000:]
    assert 'coco/keypoints_mAP' in done.stdout + done.stderr
    gt = COCO(str(root / 'annotations' / 'person_keypoints_val.json'))
    path = out / 'results.keypoints.json'
    assert path.is_file(), sorted(p.name for p in out.iterdir())
    results = json.loads(path.read_text())
    assert results and all(len(r['keypoints']) == 3 * len(CORNERS) for r in results)
    assert set(gt.loadRes(str(path)).getImgIds()) <= set(gt.getImgIds())
    assert len(list(show.rglob('*.png'))) == 3
