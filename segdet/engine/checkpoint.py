"""Safe checkpoint loading: ``torch.load(weights_only=True)`` plus an explicit allow-list.

mmengine 0.10.7 loads with ``torch.load`` defaults; from torch 2.6 those are
``weights_only=True`` and resuming trips on mmengine's ``HistoryBuffer`` and numpy arrays.
segdet allows exactly the globals that mmengine/segdet/mmseg/mmdet checkpoints hold and
refuses anything else (a pickle that would import and call arbitrary code), naming the global.
Files you trust can be loaded in full with ``--trust-checkpoint`` (``SEGDET_TRUST_CHECKPOINT=1``).
:func:`segdet.engine.register_all_modules` (called by the tools and ``init_model``) registers
this loader for local paths in mmengine's ``CheckpointLoader``, so ``load_from``, ``resume``
and ``tools/test.py`` all use it; importing this module changes nothing in mmengine.
"""
import codecs
import collections
import os
import pickle
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

TRUST_ENV = 'SEGDET_TRUST_CHECKPOINT'


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a global that is not on segdet's allow-list."""


def _numpy_globals() -> list[Any]:
    """numpy objects that pickled arrays, dtypes and scalars refer to (numpy 1.x and 2.x)."""
    found: list[Any] = [np.ndarray, np.dtype]
    for mod_name in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct'])
        except ImportError:
            continue
        found += [(getattr(mod, '_reconstruct'), f'{mod_name}._reconstruct'),
                  (getattr(mod, 'scalar'), f'{mod_name}.scalar')]
    # Concrete dtype classes (numpy >= 1.25) are pickled by reference as well.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        found += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType')]
    return found


def allowed_globals() -> list[Any]:
    """The globals a legitimate mmengine/segdet/mmseg/mmdet checkpoint may reference."""
    from mmengine.logging import HistoryBuffer

    # ``getattr``: a pickled HistoryBuffer stores its statistics as bound methods, rebuilt with
    # ``getattr(buffer, 'mean')``. The weights-only unpickler still calls nothing but these
    # allow-listed callables, so attributes it can reach this way cannot be invoked at load.
    allowed: list[Any] = [HistoryBuffer, collections.OrderedDict, collections.defaultdict,
                          codecs.encode, slice, set, frozenset, getattr]
    return allowed + _numpy_globals()


def trust_checkpoints(trust: bool = True) -> None:
    """Allow full (unsafe) unpickling of every checkpoint loaded by this process."""
    os.environ[TRUST_ENV] = '1' if trust else '0'


def _trusted() -> bool:
    return os.environ.get(TRUST_ENV, '0').lower() in ('1', 'true', 'yes')


def load_checkpoint_file(filename: Union[str, os.PathLike],
                         map_location: Optional[Union[str, Callable, torch.device]] = 'cpu',
                         trust: Optional[bool] = None) -> Any:
    """Load a checkpoint file with ``weights_only=True`` and segdet's allow-list.

    Args:
        filename: Local path of the ``.pth`` file.
        map_location: Passed to ``torch.load``.
        trust: Unpickle everything (only for files you trust). Defaults to the
            ``SEGDET_TRUST_CHECKPOINT`` environment variable set by ``--trust-checkpoint``.

    Returns:
        The unpickled object (usually a dict with ``state_dict``/``meta``/...).

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file references a global outside the allow-list; the message
            names the global(s) and the opt-in for trusted files.
    """
    filename = os.fspath(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if trust if trust is not None else _trusted():
        return torch.load(filename, map_location=map_location, weights_only=False)
    with torch.serialization.safe_globals(allowed_globals()):
        try:
            return torch.load(filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            try:
                unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
            except Exception:  # noqa: BLE001 - the original error is the informative one
                unsafe = []
            names = ', '.join(unsafe) or str(err).splitlines()[0]
            raise UnsafeCheckpointError(
                f'refusing to load checkpoint {filename}: it references global(s) that are not '
                f'on segdet\'s allow-list: {names}. Unpickling them could run arbitrary code. '
                f'If you trust this file, pass --trust-checkpoint to the tool (or set '
                f'{TRUST_ENV}=1).') from None


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """mmengine's ``CheckpointLoader`` entry for local paths: :func:`load_checkpoint_file`.

    mmengine logs "Loads checkpoint by <name> backend", taking <name> from this function's
    name after ``load_from_``; hence the name (and "local" in the log, as with mmengine's own).
    """
    # Looks ``load_checkpoint_file`` up at call time, so that it can be patched (tests).
    return load_checkpoint_file(os.path.expanduser(filename), map_location)


def install_safe_checkpoint_loader() -> None:
    """Make :func:`load_checkpoint_file` mmengine's ``CheckpointLoader`` for local paths.

    Idempotent. Every local ``load_from``, ``resume`` and ``mmengine.runner.load_checkpoint``
    then loads with ``weights_only=True`` and segdet's allow-list.
    """
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
