"""Fixtures for the end-to-end tests of ``tools/train.py`` and ``tools/test.py``.

The expensive things (a small shapes tree and one 4-iteration training run through the real
command line) are made once per pytest run and shared by the xdist workers: the first worker to
ask builds them under a file lock in the run's common temporary directory, the others wait and
reuse them. Tests must treat them as read-only (copy a work dir before resuming from it).
"""
import json
import sys
import types
from pathlib import Path
from typing import Any, Iterator

import pytest
from filelock import FileLock

from segdet.datasets.synthetic import inspect_tree, shapes_params, write_shapes_tree
from tool_run_helpers import (DEMO_CONFIG, SHAPES, TRAIN_ITERS, TrainedRun, cli_options,
                              load_tool, run_tool, train_options)


@pytest.fixture(scope='session')
def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A directory of this pytest run that all xdist workers see."""
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == 'master' else base.parent) / 'test_tools_shared'
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope='session')
def shapes_root(shared_dir: Path) -> Path:
    """The shapes tree of :data:`SHAPES`, written once per run."""
    root = shared_dir / 'shapes'
    with FileLock(str(shared_dir / 'shapes.lock')):
        if inspect_tree(str(root), shapes_params(**SHAPES)) != 'same':
            write_shapes_tree(str(root), **SHAPES)
    return root


@pytest.fixture(scope='session')
def trained(shared_dir: Path, shapes_root: Path) -> TrainedRun:
    """``tools/train.py DEMO --work-dir ... --cfg-options ...`` for 4 iterations, run once."""
    work_dir = shared_dir / 'train_work'
    record = shared_dir / 'train_record.json'
    with FileLock(str(shared_dir / 'train.lock')):
        if not record.exists():
            done = run_tool('train.py', str(DEMO_CONFIG), '--work-dir', str(work_dir),
                            '--cfg-options', *cli_options(train_options(str(shapes_root))))
            record.write_text(json.dumps(dict(returncode=done.returncode, stdout=done.stdout,
                                              stderr=done.stderr)))
    result = json.loads(record.read_text())
    if result['returncode'] != 0:
        pytest.fail(f'tools/train.py failed (rc {result["returncode"]}):\n'
                    f'{result["stderr"][-4000:]}')
    return TrainedRun(shapes_root, work_dir, work_dir / f'iter_{TRAIN_ITERS}.pth',
                      result['stdout'], result['stderr'])


@pytest.fixture
def tool_argv(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``tool_argv(module, *args)``: run ``module.main()`` in-process with ``sys.argv`` set.

    Keeps ``LOCAL_RANK`` and the checkpoint-trust variable as they were.
    """
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.delenv('SEGDET_TRUST_CHECKPOINT', raising=False)

    def call(module: types.ModuleType, *args: str, entry: str = 'main') -> Any:
        monkeypatch.setattr(sys, 'argv', [module.__file__, *args])
        return getattr(module, entry)()
    yield call


@pytest.fixture(scope='module')
def train_tool() -> types.ModuleType:
    return load_tool('train.py')


@pytest.fixture(scope='module')
def test_tool() -> types.ModuleType:
    return load_tool('test.py')
