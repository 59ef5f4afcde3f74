"""projects/example_det_project: its config builds the project's box head through
custom_imports, the head keeps BBoxHead's output contract, and tools/train.py trains the
project's Mask R-CNN unchanged on a tiny COCO-format shapes tree."""
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from segdet.datasets.synthetic import write_shapes_coco
from segdet.registry import MODELS
from tool_run_helpers import REPO, cli_options, run_tool

CONFIG = REPO / 'projects' / 'example_det_project' / 'configs' / (
    'mask-rcnn_r18_fpn_lightconv-box_1xb8-600_shapes-coco.py')
ITERS = 2


@pytest.fixture(scope='module')
def project_config() -> Config:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # custom_imports resolve from the repository root
    return Config.fromfile(str(CONFIG))


def test_config_builds_the_project_box_head(project_config: Config) -> None:
    with DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(project_config.model)
    head = model.roi_head.bbox_head
    assert type(head).__name__ == 'LightConvBBoxHead'
    assert type(model.roi_head.mask_head).__name__ == 'FCNMaskHead'  # the rest is the demo's
    keys = model.state_dict().keys()
    assert 'roi_head.bbox_head.convs.1.1.conv.weight' in keys
    assert not any(k.startswith('roi_head.bbox_head.shared_fcs') for k in keys)


@pytest.mark.parametrize('agnostic', [False, True])
def test_light_conv_head_output_shapes(project_config: Config, agnostic: bool) -> None:
    cfg = project_config.model.roi_head.bbox_head.copy()
    cfg.update(reg_class_agnostic=agnostic, conv_out_channels=8)
    with DefaultScope.overwrite_default_scope('segdet'):
        head = MODELS.build(cfg)
    for num_rois in (5, 0):
        scores, deltas = head(torch.randn(num_rois, 64, 7, 7))
        assert scores.shape == (num_rois, 4)  # 3 classes + background
        assert deltas.shape == (num_rois, 4 if agnostic else 12)
    assert head.fc_cls.in_features == 8 * 7 * 7
    # BBoxHead's loss contract: CE + accuracy + box loss on the positives.
    labels = torch.tensor([0, 2, 3, 3, 3])  # 3 = background
    rois = torch.zeros((5, 5))
    losses = head.loss(*head(torch.randn(5, 64, 7, 7)), rois, labels, torch.ones(5),
                       torch.randn(5, 4), torch.ones(5, 4))
    assert set(losses) == {'loss_cls', 'acc', 'loss_bbox'}
    assert losses['loss_bbox'] > 0
    with pytest.raises(ValueError, match='num_convs'):
        MODELS.build({**cfg, 'num_convs': 0})


def test_train_tool_runs_the_project(tmp_path: Path) -> None:
    root = tmp_path / 'shapes_coco'
    write_shapes_coco(str(root), num_train=6, num_val=3, size=64, seed=0)
    ann = f'{root}/annotations/instances_val.json'
    options = {'data_root': f'{root}/', 'val_evaluator.ann_file': ann,
               'test_evaluator.ann_file': ann, 'train_cfg.max_iters': ITERS,
               'train_cfg.val_interval': ITERS, 'train_dataloader.batch_size': 2,
               'default_hooks.checkpoint.interval': ITERS, 'default_hooks.logger.interval': 1,
               'model.backbone.base_channels': 16, 'model.neck.in_channels': (16, 32, 64, 128),
               'visualizer.name': 'example_det_project_vis'}
    for split in ('train', 'val', 'test'):
        options.update({f'{split}_dataloader.dataset.data_root': f'{root}/',
                        f'{split}_dataloader.num_workers': 0,
                        f'{split}_dataloader.persistent_workers': False})
    work = tmp_path / 'work'
    done = run_tool('train.py', str(CONFIG), '--work-dir', str(work), '--cfg-options',
                    *cli_options(options))
    assert done.returncode == 0, done.stderr[-4000:]
    log = done.stdout + done.stderr
    for key in ('loss_cls', 'loss_bbox', 'loss_mask', 'coco/bbox_mAP', 'coco/segm_mAP'):
        assert key in log, key
    assert (work / f'iter_{ITERS}.pth').is_file()
    assert "type='LightConvBBoxHead'" in (work / CONFIG.name).read_text()
    # ... and tools/test.py evaluates the project's checkpoint with the same config
    tested = run_tool('test.py', str(CONFIG), str(work / f'iter_{ITERS}.pth'), '--work-dir',
                      str(tmp_path / 'test_work'), '--cfg-options', *cli_options(options))
    assert tested.returncode == 0, tested.stderr[-4000:]
    assert 'coco/segm_mAP' in tested.stdout + tested.stderr
