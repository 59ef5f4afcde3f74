"""A package outside the repository registers a backbone and a transform into segdet's
registries; tools/train.py uses them through custom_imports alone."""
import os
import subprocess
import sys
from pathlib import Path

from tool_run_helpers import DEMO_CONFIG, REPO, cli_options, train_options, tool_env

PACKAGE = '''
from pathlib import Path

from mmcv.transforms import BaseTransform

from segdet.models.backbones import ResNet
from segdet.registry import MODELS, TRANSFORMS


@MODELS.register_module()
class LabResNet(ResNet):
    """A lab's backbone: segdet's ResNet that counts its forward calls in a file."""

    def __init__(self, calls_file, **kwargs):
        super().__init__(**kwargs)
        self.calls_file = Path(calls_file)

    def forward(self, x):
        with self.calls_file.open('a') as f:
            f.write('forward\\n')
        return super().forward(x)


@TRANSFORMS.register_module()
class LabInvert(BaseTransform):
    """A lab's transform: inverts the image and records that it ran."""

    def __init__(self, marker):
        self.marker = Path(marker)

    def transform(self, results):
        results['img'] = 255 - results['img']
        self.marker.write_text('ran')
        return results
'''


def test_external_package_via_custom_imports(shapes_root: Path, tmp_path: Path) -> None:
    site = tmp_path / 'site'
    (site / 'lab_ext').mkdir(parents=True)
    (site / 'lab_ext' / '__init__.py').write_text(PACKAGE)
    calls, marker = tmp_path / 'calls.txt', tmp_path / 'transform_ran'
    config = tmp_path / 'lab_config.py'
    config.write_text(
        f'_base_ = [{str(DEMO_CONFIG)!r}]\n'
        "custom_imports = dict(imports=['lab_ext'], allow_failed_imports=False)\n"
        f"model = dict(backbone=dict(type='LabResNet', calls_file={str(calls)!r}))\n"
        "train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),\n"
        f"                  dict(type='LabInvert', marker={str(marker)!r}),\n"
        "                  dict(type='PackSegInputs')]\n"
        'train_dataloader = dict(dataset=dict(pipeline=train_pipeline))\n')
    env = tool_env()
    env['PYTHONPATH'] = os.pathsep.join([str(site), env['PYTHONPATH']])
    options = train_options(str(shapes_root), max_iters=2)
    options.update({'train_cfg.val_interval': 100, 'default_hooks.checkpoint.interval': 2})
    done = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'), str(config), '--work-dir',
         str(tmp_path / 'work'), '--cfg-options', *cli_options(options)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert marker.read_text() == 'ran'
    # 2 training iterations + validation of 8 images in one batch at the end.
    assert calls.read_text().splitlines() == ['forward'] * 3
    assert (tmp_path / 'work' / 'iter_2.pth').is_file()
