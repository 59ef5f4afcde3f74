"""The FBNet configs (maskrcnn-benchmark's light-weight model-zoo rows) train 2 iterations
through tools/train.py and evaluate, on a tiny COCO-format shapes tree (64x64 images, 3
classes): their full models, from scratch as the recipes are, images resized to 64x64."""
from pathlib import Path

import pytest

from segdet.datasets.synthetic import write_shapes_coco
from tool_run_helpers import REPO, cli_options, coco_tree_options, log_text

CONFIGS = ['fbnet/faster-rcnn_fbnet-chamv1a_600_0.75x_coco.py',
           'fbnet/faster-rcnn_fbnet-default_600_0.5x_coco.py',
           'fbnet/mask-rcnn_fbnet-xirb16d-dsmask_600_0.5x_coco.py',
           'fbnet/mask-rcnn_fbnet-default_600_0.5x_coco.py']
ITERS = 2


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('fbnet_configs') / 'shapes_coco'
    write_shapes_coco(str(root), num_train=4, num_val=2, size=64, seed=0)
    return root


def options(root: Path, with_mask: bool) -> dict:
    opts = {'model.roi_head.bbox_head.num_classes': 3,
            'train_cfg.max_iters': ITERS, 'train_cfg.val_interval': ITERS,
            'default_hooks.checkpoint.interval': ITERS, 'train_dataloader.batch_size': 2,
            'train_dataloader.dataset.pipeline.2.scale': (64, 64),
            'default_hooks.logger.interval': 1, 'randomness.seed': 0}
    if with_mask:
        opts['model.roi_head.mask_head.num_classes'] = 3
    opts.update(coco_tree_options(root, 'instances',
                                  dict(classes=('circle', 'rectangle', 'triangle'))))
    return opts


@pytest.mark.parametrize('config', CONFIGS)
def test_config_trains_two_iterations_and_evaluates(config, coco_root, tmp_path, tool_argv,
                                                    train_tool):
    work = tmp_path / 'work'
    with_mask = Path(config).name.startswith('mask-rcnn')
    # A config of its own per run: mmengine names loggers and visualizers after it.
    name = Path(config).stem.replace('-', '_').replace('.', '')
    run_config = tmp_path / f'{name}.py'
    run_config.write_text(f"_base_ = [{str(REPO / 'configs' / config)!r}]\n"
                          f"visualizer = dict(name='vis_{name}')\n")
    tool_argv(train_tool, str(run_config), '--work-dir', str(work), '--cfg-options',
              *cli_options(options(coco_root, with_mask)))
    log = log_text(work)
    keys = ['loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'coco/bbox_mAP']
    keys += ['loss_mask', 'coco/segm_mAP'] if with_mask else []
    for key in keys:
        assert key in log, key
    assert f'Iter(train) [{ITERS}/{ITERS}]' in log and (work / f'iter_{ITERS}.pth').is_file()
