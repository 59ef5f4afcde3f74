import logging
import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from segdet.engine import UnsafeCheckpointError, load_checkpoint_file, register_all_modules


class _Payload:
    """Unpickling this would create a file: the loader must never run it."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _mmengine_like_checkpoint():
    hb = HistoryBuffer()
    hb.update(0.5)
    hb.update(0.25, count=2)
    return dict(
        meta=dict(epoch=1, iter=10, seed=np.int64(3), dataset_meta=dict(classes=('a', 'b')),
                  message_hub=dict(log_scalars={'train/loss': hb},
                                   runtime_info={'mean': np.float32(1.5), 'arr': np.arange(3)})),
        state_dict={'w': torch.ones(2)},
        optimizer={'state': {}, 'param_groups': [{'lr': 0.1, 'params': [0]}]})


def test_loads_mmengine_checkpoint_with_history_buffer(tmp_path):
    register_all_modules(init_default_scope=False)  # segdet's loader in mmengine
    path = tmp_path / 'ok.pth'
    torch.save(_mmengine_like_checkpoint(), path)
    ckpt = load_checkpoint_file(path)
    hb = ckpt['meta']['message_hub']['log_scalars']['train/loss']
    assert isinstance(hb, HistoryBuffer) and hb.current() == 0.25
    assert ckpt['meta']['seed'] == 3 and np.array_equal(
        ckpt['meta']['message_hub']['runtime_info']['arr'], np.arange(3))
    # the mmengine loader for local paths is segdet's
    assert torch.equal(CheckpointLoader.load_checkpoint(str(path))['state_dict']['w'], torch.ones(2))


def test_refuses_malicious_pickle_without_running_it(tmp_path):
    register_all_modules(init_default_scope=False)  # segdet's loader in mmengine
    marker = tmp_path / 'payload_ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Payload(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        load_checkpoint_file(path)
    msg = str(err.value)
    assert 'makedirs' in msg and '--trust-checkpoint' in msg and str(path) in msg
    assert not marker.exists()
    with pytest.raises(UnsafeCheckpointError):
        CheckpointLoader.load_checkpoint(str(path))
    assert not marker.exists()
    # explicit trust loads it (and so runs the payload)
    load_checkpoint_file(path, trust=True)
    assert marker.exists()


def test_missing_file_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint_file(tmp_path / 'nope.pth')


def test_log_names_the_local_backend(tmp_path, caplog):
    """mmengine's "Loads checkpoint by <name> backend" reads "local" for segdet's loader."""
    register_all_modules(init_default_scope=False)  # segdet's loader in mmengine
    path = tmp_path / 'ok.pth'
    torch.save({'state_dict': {'w': torch.ones(1)}}, path)
    logger = logging.getLogger('segdet-test-checkpoint-log')
    with caplog.at_level(logging.INFO, logger=logger.name):
        CheckpointLoader.load_checkpoint(str(path), logger=logger)
    assert f'Loads checkpoint by local backend from path: {path}' in caplog.text
