"""projects/example_project: its config builds the project's modules through custom_imports,
and tools/train.py + tools/test.py train and evaluate it unchanged."""
import json
import sys
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from segdet.registry import MODELS
from tool_run_helpers import REPO, cli_options, data_options, run_tool

CONFIG = REPO / 'projects' / 'example_project' / 'configs' / (
    'lightfuse_se-r18b_1xb8-1500_shapes-128x128.py')
SMALL = {'model.data_preprocessor.size': (64, 64), 'model.backbone.base_channels': 8,
         'model.backbone.stem_channels': 8, 'model.decode_head.in_channels': 64,
         'model.decode_head.low_in_channels': 8, 'model.decode_head.channels': 8,
         'model.decode_head.low_channels': 4}


def test_config_builds_the_project_modules() -> None:
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # custom_imports resolve from the repository root
    cfg = Config.fromfile(str(CONFIG))
    with DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'SEResNet'
    assert type(model.decode_head).__name__ == 'LightFuseHead'
    keys = model.state_dict().keys()
    assert 'backbone.layer4.1.conv2.weight' in keys  # ResNet names unchanged
    assert 'backbone.se_gates.3.reduce.weight' in keys
    model.eval()
    with torch.no_grad():
        logits = model._forward(torch.randn(2, 3, 128, 128))
    assert logits.shape == (2, 4, 32, 32)  # stride-4 logits


def test_train_and_test_tools_run_the_project(shapes_root: Path, tmp_path: Path) -> None:
    work = tmp_path / 'work'
    options = {**data_options(str(shapes_root)), **SMALL, 'train_cfg.max_iters': 2,
               'train_cfg.val_interval': 2, 'train_dataloader.batch_size': 2,
               'default_hooks.checkpoint.interval': 2}
    done = run_tool('train.py', str(CONFIG), '--work-dir', str(work), '--cfg-options',
                    *cli_options(options))
    assert done.returncode == 0, done.stderr[-4000:]
    assert (work / 'iter_2.pth').is_file()
    evaluated = run_tool('test.py', str(CONFIG), str(work / 'iter_2.pth'), '--work-dir',
                         str(tmp_path / 'eval'), '--cfg-options',
                         *cli_options({**data_options(str(shapes_root)), **SMALL}))
    assert evaluated.returncode == 0, evaluated.stderr[-4000:]
    logs = sorted((tmp_path / 'eval').glob('*/*.json'))
    metrics = json.loads(logs[0].read_text().strip().splitlines()[-1])
    assert 0 <= metrics['mIoU'] <= 100 and metrics['aAcc'] > 0
