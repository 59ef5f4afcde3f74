"""Helpers for the tool tests: the options of the tiny runs, running and importing the tools."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'demo' / 'deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py'
DEMO_NAME = DEMO_CONFIG.stem

#: 16 train + 8 val images of 64x64 (the demo trains on 400 + 100 of 128x128).
SHAPES = dict(num_train=16, num_val=8, size=64, seed=0)
TRAIN_ITERS = 4


def model_options() -> dict[str, Any]:
    """``--cfg-options`` that shrink the demo model (and its padding) to the 64x64 data.

    ``stem_channels``/``base_channels`` are ResNet constructor arguments that the demo config
    leaves at their defaults, so the tools warn that the config lacks them (and still apply them).
    """
    return {
        'model.data_preprocessor.size': (64, 64),
        'model.backbone.stem_channels': 16,
        'model.backbone.base_channels': 16,
        # Output stride 8 (8x8 on 64x64 inputs) instead of the demo's 32 (2x2): near its
        # initialisation, a 2x2 map gives one class for every pixel.
        'model.backbone.strides': (1, 2, 1, 1),
        'model.backbone.dilations': (1, 1, 2, 4),
        'model.decode_head.in_channels': 128,  # base_channels * 8 (ResNet-18 stage 4)
        'model.decode_head.c1_in_channels': 16,  # base_channels (stage 1)
        'model.decode_head.channels': 16,
        'model.decode_head.c1_channels': 8,
    }


def data_options(data_root: str) -> dict[str, Any]:
    """``--cfg-options`` that point every data loader at ``data_root``, without workers."""
    options: dict[str, Any] = {'data_root': data_root}
    for split in ('train', 'val', 'test'):
        options.update({
            f'{split}_dataloader.dataset.data_root': data_root,
            f'{split}_dataloader.num_workers': 0,
            f'{split}_dataloader.persistent_workers': False,
        })
    return options


def train_options(data_root: str, max_iters: int = TRAIN_ITERS) -> dict[str, Any]:
    """Everything ``tools/train.py`` needs for a tiny run on ``data_root``."""
    return {
        **data_options(data_root),
        **model_options(),
        'train_cfg.max_iters': max_iters,
        'train_cfg.val_interval': TRAIN_ITERS,
        'train_dataloader.batch_size': 2,
        'default_hooks.checkpoint.interval': TRAIN_ITERS,
        'default_hooks.logger.interval': 1,
        # Near-initial weights predict a mix of classes; a few steps at the demo's lr already
        # collapse to "all background", which would make the prediction comparisons vacuous.
        'optim_wrapper.optimizer.lr': 1e-5,
    }


def eval_options(data_root: str) -> dict[str, Any]:
    """What ``tools/test.py`` needs to evaluate the tiny model on ``data_root``."""
    return {**data_options(data_root), **model_options()}


def coco_tree_options(root: Path, ann_stem: str, metainfo: dict[str, Any],
                      size: tuple[int, int] = (64, 64)) -> dict[str, Any]:
    """``--cfg-options`` pointing a COCO config's loaders and evaluators at a tiny COCO tree.

    The tree is ``root/{train,val}/`` with ``root/annotations/{ann_stem}_{train,val}.json``
    (val also serves the test split). Each loader gets ``metainfo`` (as ``metainfo.<key>``
    options) and no workers; the val/test pipelines' Resize (step 1 of the COCO bases) is set
    to ``size``.
    """
    opts: dict[str, Any] = {}
    for split in ('train', 'val', 'test'):
        name = 'train' if split == 'train' else 'val'
        ann = f'annotations/{ann_stem}_{name}.json'
        opts.update({f'{split}_dataloader.dataset.data_root': f'{root}/',
                     f'{split}_dataloader.dataset.ann_file': ann,
                     f'{split}_dataloader.dataset.data_prefix.img': f'{name}/',
                     f'{split}_dataloader.num_workers': 0,
                     f'{split}_dataloader.persistent_workers': False})
        opts.update({f'{split}_dataloader.dataset.metainfo.{key}': value
                     for key, value in metainfo.items()})
        if split != 'train':
            opts[f'{split}_dataloader.dataset.pipeline.1.scale'] = size
            opts[f'{split}_evaluator.ann_file'] = f'{root}/{ann}'
    return opts


def cli_options(options: dict[str, Any]) -> list[str]:
    """``{'a.b': (1, 2), 'c': False}`` -> ``['a.b=(1,2)', 'c=False']`` for ``--cfg-options``."""
    def text(value: Any) -> str:
        if isinstance(value, tuple):
            return '(' + ','.join(str(v) for v in value) + ')'
        return str(value)
    return [f'{key}={text(value)}' for key, value in options.items()]


def tool_env() -> dict[str, str]:
    """Environment of a tool subprocess: one OpenMP thread, the repository importable."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(p for p in (str(REPO), env.get('PYTHONPATH')) if p)
    env.pop('SEGDET_TRUST_CHECKPOINT', None)  # exercise the safe loader
    return env


def run_tool(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``tools/<script>`` from the repository root with this interpreter."""
    return subprocess.run([sys.executable, str(REPO / 'tools' / script), *args], cwd=REPO,
                          env=tool_env(), capture_output=True, text=True, timeout=timeout)


def load_tool(script: str) -> types.ModuleType:
    """Import ``tools/<script>`` as a module (``tools`` is not a package)."""
    name = 'segdet_tool_' + Path(script).stem
    spec = importlib.util.spec_from_file_location(name, REPO / 'tools' / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unique_config(directory: Path, name: str, body: str = '') -> Path:
    """A config ``directory/<name>.py`` that inherits the demo config.

    In-process runs use one each: mmengine names a run's logger and message hub after the
    config file and the second, and the config's ``visualizer.name`` picks a process-wide
    visualizer, so two runs in one process could otherwise log into each other's files.
    """
    path = directory / f'{name}.py'
    path.write_text(f'_base_ = [{str(DEMO_CONFIG)!r}]\n'
                    f"visualizer = dict(name='vis_{name}')\n{body}")
    return path


@dataclass(frozen=True)
class TrainedRun:
    """The shared output of ``tools/train.py`` on the shapes tree (read-only)."""

    data_root: Path
    work_dir: Path
    checkpoint: Path
    stdout: str
    stderr: str


def copy_work_dir(src: Path, dst: Path) -> Path:
    """Copy a work dir's checkpoints, ``last_checkpoint`` and config dump (not its log dirs).

    ``last_checkpoint`` holds an absolute path; the copy's points at the copied checkpoint, as
    it would after moving the directory.
    """
    dst.mkdir(parents=True)
    for item in src.iterdir():
        if item.is_file():
            shutil.copy2(item, dst / item.name)
    last = dst / 'last_checkpoint'
    last.write_text(str(dst / Path(last.read_text().strip()).name))
    return dst


def metric_json(work_dir: Path) -> dict[str, Any]:
    """The metrics line of the JSON log that ``tools/test.py`` writes under its work dir."""
    logs = sorted(p for p in work_dir.glob('*/*.json'))
    assert len(logs) == 1, f'expected one metric JSON under {work_dir}, found {logs}'
    return json.loads(logs[0].read_text().strip().splitlines()[-1])


def log_text(work_dir: Path) -> str:
    """The text log of the single run whose log dir is under ``work_dir``."""
    logs = list(work_dir.glob('*/*.log'))
    assert len(logs) == 1, f'expected one run log under {work_dir}, found {logs}'
    return logs[0].read_text()
