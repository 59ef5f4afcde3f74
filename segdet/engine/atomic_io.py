"""Atomic file writes for checkpoints and the ``last_checkpoint`` pointer.

A write goes to a temporary file in the target's directory, is flushed and fsynced, and is
then renamed over the target (``os.replace`` is atomic on POSIX and Windows). A crash, a
kill or a full disk during the write leaves the previous file untouched and no partial file
under the target's name. :func:`segdet.engine.register_all_modules` makes this the storage
backend that mmengine uses for local paths, so every ``runner.save_checkpoint`` is atomic.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio import io as mmengine_io

PathLike = Union[str, Path]


def _fsync_dir(dirname: str) -> None:
    """Persist a rename: fsync the directory entry (a no-op where directories can't be opened)."""
    try:
        fd = os.open(dirname, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(data: bytes, filepath: PathLike) -> None:
    """Write ``data`` to ``filepath`` so that readers see either the old or the new file.

    Args:
        data: The full contents.
        filepath: Target path; its directory is created if missing.

    Raises:
        OSError: the write, fsync or rename failed (e.g. disk full); the target is unchanged
            and the temporary file is removed.
    """
    filepath = os.fspath(filepath)
    dirname = osp.dirname(osp.abspath(filepath))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.tmp',
                                    dir=dirname)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise
    _fsync_dir(dirname)


def atomic_write_text(text: str, filepath: PathLike, encoding: str = 'utf-8') -> None:
    """Text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(text.encode(encoding), filepath)


class AtomicLocalBackend(LocalBackend):
    """mmengine's local storage backend with atomic ``put`` / ``put_text``."""

    def put(self, obj: bytes, filepath: PathLike) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: PathLike, encoding: str = 'utf-8') -> None:
        atomic_write_text(obj, filepath, encoding)


def install_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths (idempotent)."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # Drop cached singleton instances of the old local backend.
    for key in [k for k, v in mmengine_io.backend_instances.items()
                if type(v) is LocalBackend]:
        del mmengine_io.backend_instances[key]
