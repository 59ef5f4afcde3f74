"""The detection configs added for Detectron's GN-page rows (frozen-BN baselines, the 4conv1fc
box head, R-101 from scratch) train 2 iterations through tools/train.py and evaluate, on a tiny
COCO-format shapes tree (64x64 images, 3 classes): their full backbones, no pretrained weights
loaded, images resized to 64x64."""
from pathlib import Path

import pytest

from segdet.datasets.synthetic import write_shapes_coco
from tool_run_helpers import REPO, cli_options, coco_tree_options, log_text

CONFIGS = ['mask_rcnn/mask-rcnn_r50-caffe_fpn_2x_coco.py',
           'mask_rcnn/mask-rcnn_r101-caffe_fpn_2x_coco.py',
           'mask_rcnn/mask-rcnn_r50-caffe_fpn_4conv1fc_2x_coco.py',
           'mask_rcnn/mask-rcnn_r50-caffe_fpn_3x_coco.py',
           'gn/mask-rcnn_r101-scratch_fpn_gn-all_3x_coco.py']


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('det_configs') / 'shapes_coco'
    write_shapes_coco(str(root), num_train=4, num_val=2, size=64, seed=0)
    return root


def options(root: Path) -> dict:
    opts = {'model.backbone.init_cfg': None,  # no download in tests
            'model.roi_head.bbox_head.num_classes': 3, 'model.roi_head.mask_head.num_classes': 3,
            'train_cfg.max_epochs': 1, 'train_dataloader.batch_size': 2,
            'train_dataloader.dataset.pipeline.2.scale': (64, 64),
            'default_hooks.logger.interval': 1, 'randomness.seed': 0}
    opts.update(coco_tree_options(root, 'instances',
                                  dict(classes=('circle', 'rectangle', 'triangle'))))
    return opts


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_two_iterations_and_evaluates(config, coco_root, tmp_path, tool_argv,
                                                    train_tool):
    work = tmp_path / 'work'
    # A config of its own per run: mmengine names loggers and visualizers after it.
    name = Path(config).stem.replace('-', '_')
    run_config = tmp_path / f'{name}.py'
    run_config.write_text(f"_base_ = [{str(REPO / 'configs' / config)!r}]\n"
                          f"visualizer = dict(name='vis_{name}')\n")
    tool_argv(train_tool, str(run_config), '--work-dir', str(work), '--cfg-options',
              *cli_options(options(coco_root)))
    log = log_text(work)
    for key in ('loss_rpn_cls', 'loss_cls', 'loss_bbox', 'loss_mask', 'coco/bbox_mAP',
                'coco/segm_mAP'):
        assert key in log, key
    assert 'Epoch(train) [1][2/2]' in log and (work / 'epoch_1.pth').is_file()
