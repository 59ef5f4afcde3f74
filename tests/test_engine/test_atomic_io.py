"""Atomic writes: a failure mid-write leaves the previous file intact and no stray temp file."""
import errno
import os

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner import save_checkpoint

from segdet.engine import (AtomicLocalBackend, atomic_write_bytes, atomic_write_text,
                           register_all_modules)
from segdet.engine import atomic_io


def test_write_replaces_content(tmp_path) -> None:
    target = tmp_path / 'sub' / 'f.bin'
    atomic_write_bytes(b'one', target)
    atomic_write_bytes(b'two', target)
    assert target.read_bytes() == b'two'
    atomic_write_text('pointer', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'last_checkpoint').read_text() == 'pointer'
    assert sorted(p.name for p in tmp_path.rglob('*')) == ['f.bin', 'last_checkpoint', 'sub']


@pytest.mark.parametrize('failing', ['fsync', 'replace'])
def test_failed_write_keeps_old_file(tmp_path, monkeypatch, failing) -> None:
    target = tmp_path / 'iter_2.pth'
    target.write_bytes(b'old checkpoint')

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(atomic_io.os, failing, disk_full)
    with pytest.raises(OSError, match='No space left'):
        atomic_write_bytes(b'new checkpoint that does not fit', target)
    monkeypatch.undo()
    assert target.read_bytes() == b'old checkpoint'
    assert [p.name for p in tmp_path.iterdir()] == ['iter_2.pth']


def test_interrupted_write_keeps_old_file(tmp_path, monkeypatch) -> None:
    """A KeyboardInterrupt (or any exception) while writing: old file kept, temp file removed."""
    target = tmp_path / 'last_checkpoint'
    target.write_text('iter_2.pth')
    real_fdopen = os.fdopen

    class Exploding:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:3])
            raise KeyboardInterrupt

    monkeypatch.setattr(atomic_io.os, 'fdopen', lambda fd, mode: Exploding(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text('iter_4.pth', target)
    monkeypatch.undo()
    assert target.read_text() == 'iter_2.pth'
    assert [p.name for p in tmp_path.iterdir()] == ['last_checkpoint']


def test_mmengine_save_checkpoint_goes_through_atomic_backend(tmp_path, monkeypatch) -> None:
    register_all_modules(init_default_scope=False)  # installs the atomic local backend
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')), AtomicLocalBackend)
    written = []
    real = atomic_io.atomic_write_bytes

    def spy(data, path):
        written.append(os.fspath(path))
        real(data, path)
    monkeypatch.setattr(atomic_io, 'atomic_write_bytes', spy)
    path = str(tmp_path / 'iter_1.pth')
    save_checkpoint({'state_dict': {'w': torch.ones(2)}}, path)
    assert written == [path]
    assert torch.equal(torch.load(path, weights_only=True)['state_dict']['w'], torch.ones(2))
