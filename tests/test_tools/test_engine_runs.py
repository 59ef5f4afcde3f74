"""The training engine through the real tools: a run killed with SIGKILL between checkpoints
resumes to the same end state as an uninterrupted run (and two runs with
``deterministic=True`` log the same losses); ``torchrun`` with 2 gloo processes on the CPU
writes one checkpoint, keeps the ranks' weights equal and gathers evaluation across ranks;
``TargetMetricStopHook`` and ``skip_bad_samples`` on the demo data.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from segdet.datasets.transforms import BadSampleError
from segdet.engine import load_checkpoint_file
from tool_run_helpers import (REPO, cli_options, eval_options, tool_env, train_options,
                              unique_config)

HERE = Path(__file__).resolve().parent
MAX_ITERS = 8
CKPT_EVERY = 3


def plugin_env() -> dict[str, str]:
    env = tool_env()
    env['PYTHONPATH'] = os.pathsep.join([str(HERE), env['PYTHONPATH']])
    return env


def engine_config(directory: Path, name: str, hooks: str = '') -> Path:
    """The demo config plus the test plugins and the default guard hooks (+ ``hooks``)."""
    return unique_config(directory, name, (
        "custom_imports = dict(imports=['engine_test_plugins'], allow_failed_imports=False)\n"
        f"custom_hooks = [dict(type='CheckInvalidLossHook'), dict(type='SkippedSamplesHook'), "
        f"{hooks}]\n"))


def run_options(data_root: Path, **extra: Any) -> list[str]:
    options = train_options(str(data_root), max_iters=MAX_ITERS)
    options.update({
        'default_hooks.checkpoint.interval': CKPT_EVERY,
        'train_cfg.val_interval': 100,  # validate once, at the end
        'optim_wrapper.optimizer.lr': 2e-3,  # move the weights enough to compare them
        'randomness.seed': 0,
        'randomness.deterministic': True,
        **extra,
    })
    return cli_options(options)


def train(config: Path, work_dir: Path, data_root: Path, *args: str,
          **extra: Any) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'), str(config), '--work-dir',
         str(work_dir), *args, '--cfg-options', *run_options(data_root, **extra)],
        cwd=REPO, env=plugin_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def logged(work_dir: Path, key: str) -> dict[int, float]:
    """iteration -> value of ``key`` from every ``vis_data/scalars.json`` under ``work_dir``."""
    values = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if key in record:
                values[record['iter']] = record[key]
    return values


@pytest.fixture(scope='module')
def uninterrupted(shapes_root: Path, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp('uninterrupted')
    work = tmp / 'work'
    train(engine_config(tmp, 'uninterrupted'), work, shapes_root)
    return work


def test_deterministic_runs_log_the_same_losses(uninterrupted, shapes_root, tmp_path) -> None:
    work = tmp_path / 'again'
    train(engine_config(tmp_path, 'again'), work, shapes_root)
    first, second = logged(uninterrupted, 'loss'), logged(work, 'loss')
    assert sorted(first) == list(range(1, MAX_ITERS + 1))
    assert first == second
    a = load_checkpoint_file(uninterrupted / f'iter_{MAX_ITERS - MAX_ITERS % CKPT_EVERY}.pth')
    b = load_checkpoint_file(work / f'iter_{MAX_ITERS - MAX_ITERS % CKPT_EVERY}.pth')
    assert all(torch.equal(a['state_dict'][k], b['state_dict'][k]) for k in a['state_dict'])


def test_sigkill_between_checkpoints_then_resume(uninterrupted, shapes_root, tmp_path) -> None:
    work = tmp_path / 'work'
    marker = tmp_path / 'paused'
    config = engine_config(tmp_path, 'killed',
                           f"dict(type='PauseOnceHook', at_iter=4, marker={str(marker)!r})")
    proc = subprocess.Popen(
        [sys.executable, str(REPO / 'tools' / 'train.py'), str(config), '--work-dir',
         str(work), '--cfg-options', *run_options(shapes_root)],
        cwd=REPO, env=plugin_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert marker.exists(), f'the run never reached iteration 4: {proc.stderr.read()[-3000:]}'
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    # Killed after iteration 4: the checkpoint of iteration 3 is complete, nothing later exists.
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_3.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_3.pth')
    assert not list(work.glob('.*.tmp'))

    train(config, work, shapes_root, '--resume')

    # save_last writes the final state as well: compare it and the checkpoint in between.
    for step in (6, MAX_ITERS):
        resumed = load_checkpoint_file(work / f'iter_{step}.pth')
        straight = load_checkpoint_file(uninterrupted / f'iter_{step}.pth')
        assert resumed['meta']['iter'] == straight['meta']['iter'] == step
        for key, value in straight['state_dict'].items():
            assert torch.equal(resumed['state_dict'][key], value), (step, key)
        lrs = [[g['lr'] for g in c['optimizer']['param_groups']] for c in (resumed, straight)]
        assert lrs[0] == lrs[1]
    # Iterations 7-8 after the resume log the same losses and learning rates.
    for key in ('loss', 'lr'):
        assert logged(work, key) == logged(uninterrupted, key), key
    assert max(logged(work, 'lr')) > 0
    assert max(logged(work, 'loss')) == MAX_ITERS
    assert (work / 'last_checkpoint').read_text() == str(work / f'iter_{MAX_ITERS}.pth')


# ---------------------------------------------------------------------------- distributed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun(script: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
           '--master_addr', '127.0.0.1', '--master_port', str(free_port()),
           str(REPO / 'tools' / script), *args, '--launcher', 'pytorch']
    done = subprocess.run(cmd, cwd=REPO, env=plugin_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    return done


def metrics_of(work_dir: Path) -> dict[str, Any]:
    logs = sorted(work_dir.glob('*/*.json'))
    assert len(logs) == 1, logs
    return json.loads(logs[0].read_text().strip().splitlines()[-1])


def test_two_gloo_processes_train_and_evaluate(shapes_root, tmp_path) -> None:
    config = engine_config(tmp_path, 'dist', "dict(type='DumpRankWeightsHook')")
    work = tmp_path / 'work'
    options = train_options(str(shapes_root), max_iters=4)
    options['model.backbone.norm_cfg.type'] = 'SyncBN'  # becomes BN without CUDA
    done = torchrun('train.py', str(config), '--work-dir', str(work),
                    '--cfg-options', *cli_options(options))
    assert sorted(p.name for p in work.glob('*.pth')) == [
        'iter_4.pth', 'rank0_weights.pth', 'rank1_weights.pth']
    assert 'SyncBN replaced by BN' in done.stderr
    log = next(work.glob('*/*.log')).read_text()
    assert "dist_cfg: {'backend': 'gloo'}" in log and 'Distributed training: True' in log
    rank0 = torch.load(work / 'rank0_weights.pth', weights_only=True)
    rank1 = torch.load(work / 'rank1_weights.pth', weights_only=True)
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), key
    saved = load_checkpoint_file(work / 'iter_4.pth')['state_dict']
    assert all(torch.equal(saved[k], rank0[k]) for k in saved)

    # Evaluation: 2 ranks (4 val images each, results gathered) == 1 process on all 8.
    eval_opts = cli_options(eval_options(str(shapes_root)))
    torchrun('test.py', str(config), str(work / 'iter_4.pth'), '--work-dir',
             str(tmp_path / 'eval2'), '--cfg-options', *eval_opts)
    single = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'test.py'), str(config), str(work / 'iter_4.pth'),
         '--work-dir', str(tmp_path / 'eval1'), '--cfg-options', *eval_opts],
        cwd=REPO, env=plugin_env(), capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-4000:]
    two, one = metrics_of(tmp_path / 'eval2'), metrics_of(tmp_path / 'eval1')
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert two[key] == one[key], key


# ---------------------------------------------------------------------------- early stop, bad data


def test_target_metric_stop_on_demo_data(shapes_root, tmp_path) -> None:
    config = engine_config(tmp_path, 'target',
                           "dict(type='TargetMetricStopHook', targets={'aAcc': 1.0})")
    work = tmp_path / 'work'
    train(config, work, shapes_root, **{'train_cfg.val_interval': 2})
    assert (work / 'last_checkpoint').read_text() == str(work / 'target_reached_iter_2.pth')
    assert load_checkpoint_file(work / 'target_reached_iter_2.pth')['meta']['iter'] == 2
    log = next(work.glob('*/*.log')).read_text()
    assert 'TargetMetricStopHook: all targets reached at iter 2: aAcc=' in log
    assert 'Iter(train) [3/' not in log  # stopped before iteration 3


def corrupt_tree(src: Path, dst: Path, count: int) -> list[Path]:
    shutil.copytree(src, dst)
    images = sorted((dst / 'leftImg8bit' / 'train').rglob('*.png'))[:count]
    for path in images:
        path.write_bytes(b'not a png')
    return images


def test_unreadable_training_image_is_named(shapes_root, tmp_path) -> None:
    root = tmp_path / 'shapes'
    bad = corrupt_tree(shapes_root, root, count=16)  # every training image
    done = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'), str(engine_config(tmp_path, 'bad')),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options', *run_options(root)],
        cwd=REPO, env=plugin_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert BadSampleError.__name__ in done.stderr
    assert any(f'cannot read image {p}' in done.stderr for p in bad)


def test_skip_bad_samples_skips_and_counts(shapes_root, tmp_path) -> None:
    root = tmp_path / 'shapes'
    corrupt_tree(shapes_root, root, count=12)  # 4 of 16 training images stay readable
    work = tmp_path / 'work'
    train(engine_config(tmp_path, 'skip'), work, root,
          **{'train_dataloader.dataset.skip_bad_samples': True})
    log = next(work.glob('*/*.log')).read_text()
    counts = [int(line.split('(')[1].split(' skipped')[0])
              for line in log.splitlines() if 'skipped a bad sample (' in line]
    assert counts and counts == list(range(1, len(counts) + 1))
    assert f'{counts[-1]} bad sample(s) were skipped during training' in log
    assert (work / f'iter_{CKPT_EVERY * 2}.pth').exists()


def test_validation_images_drawn_by_visualization_hook(shapes_root, tmp_path) -> None:
    work = tmp_path / 'work'
    train(engine_config(tmp_path, 'valvis'), work, shapes_root,
          **{'train_cfg.max_iters': 2, 'default_hooks.visualization.type': 'SegVisualizationHook',
             'default_hooks.visualization.draw': True})
    drawn = sorted(work.glob('*/vis_data/vis_image/val_*.png'))
    assert len(drawn) == 1  # first image of the single val batch, at iteration 2
    img = cv2.imread(str(drawn[0]))
    assert img.shape == (64, 128, 3)  # [ground truth | prediction] of a 64x64 image
    assert not np.array_equal(img[:, :64], img[:, 64:])  # 2 iterations: pred != ground truth
