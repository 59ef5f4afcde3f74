"""Weights named by URI (``torchvision://``, ``open-mmlab://``, ``mmcls://``, ``http(s)://``),
found in the torch hub cache or downloaded into it, and loaded with segdet's safe loader.

The names mean what they mean in mmengine: the tables are mmengine's own
(``mmengine.runner.checkpoint.get_torchvision_models``, ``mmengine/hub/openmmlab.json`` plus
``$MMENGINE_HOME/open_mmlab.json``, ``mmengine/hub/mmcls.json``, ``mmengine/hub/deprecated.json``).
A URL's file lives at ``torch.hub.get_dir()/checkpoints/<basename of the URL>``
(``$TORCH_HOME/hub/checkpoints``, default ``~/.cache/torch/hub/checkpoints``), where torch,
torchvision and mmengine keep it too, so a file any of them downloaded is reused. A cached file
is used without touching the network; otherwise it is downloaded (``torch.hub.download_url_to_file``
writes a temporary file in that folder and renames it, so an interrupted download never leaves a
truncated file under the real name). When that fails, :class:`WeightsNotAvailableError` says what
to download, where to put it, and how to train from scratch instead.

:func:`install_hub_loaders` (called by :func:`segdet.engine.register_all_modules`) makes these
mmengine's ``CheckpointLoader`` entries for the schemes; importing this module changes nothing.
"""
import difflib
import functools
import logging
import os
import os.path as osp
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint import load_checkpoint_file

URL_SCHEMES = ('http://', 'https://')
TORCHVISION_SCHEMES = ('torchvision://', 'modelzoo://')
OPENMMLAB_SCHEMES = ('open-mmlab://', 'openmmlab://')
MMCLS_SCHEME = 'mmcls://'
REMOTE_SCHEMES = URL_SCHEMES + TORCHVISION_SCHEMES + OPENMMLAB_SCHEMES + (MMCLS_SCHEME, )
FROM_SCRATCH_HINT = ('--cfg-options model.backbone.init_cfg=None (configs that set '
                     'model.pretrained: model.pretrained=None)')


class WeightsNotAvailableError(OSError):
    """Weights named by a URI are not in the torch hub cache and could not be downloaded.

    Attributes:
        uri: What the config or command line named (``open-mmlab://resnet50_v1c``, a URL).
        url: The URL it resolves to.
        cache_path: Where the file must be for segdet to use it without the network.
    """

    def __init__(self, message: str, *, uri: Optional[str] = None, url: Optional[str] = None,
                 cache_path: Optional[Path] = None) -> None:
        super().__init__(message)
        self.uri, self.url, self.cache_path = uri, url, cache_path


class UnknownCheckpointNameError(KeyError):
    """A ``torchvision://`` / ``open-mmlab://`` / ``mmcls://`` name that no table holds."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def is_remote(uri: str) -> bool:
    """Whether ``uri`` uses one of the schemes this module resolves (not a local path)."""
    return isinstance(uri, str) and uri.startswith(REMOTE_SCHEMES)


def _mmengine_json(name: str) -> dict:
    import mmengine
    from mmengine.fileio import load
    return load(osp.join(mmengine.__path__[0], 'hub', name))


@functools.lru_cache(maxsize=None)
def _torchvision_table() -> dict:
    from mmengine.runner.checkpoint import get_torchvision_models
    return get_torchvision_models()


def _mmengine_home() -> str:
    """mmengine's ``_get_mmengine_home()`` without creating the folder."""
    return osp.expanduser(os.getenv('MMENGINE_HOME', osp.join(
        os.getenv('XDG_CACHE_HOME', '~/.cache'), 'mmengine')))


def _openmmlab_table() -> dict:
    """mmengine's ``get_external_models()``: its table, updated by
    ``$MMENGINE_HOME/open_mmlab.json``."""
    from mmengine.fileio import load
    table = _mmengine_json('openmmlab.json')
    extra = osp.join(_mmengine_home(), 'open_mmlab.json')
    if osp.isfile(extra):
        table.update(load(extra))
    return table


def _lookup(table: dict, scheme: str, name: str, where: str) -> str:
    if name in table:
        return table[name]
    close = difflib.get_close_matches(name, list(table), n=5, cutoff=0.5)
    hint = (f'closest known names: {", ".join(scheme + c for c in close)}' if close
            else f'{len(table)} names are known')
    raise UnknownCheckpointNameError(
        f'{scheme}{name} is not a known {scheme} name ({where}); {hint}')


def resolve_url(uri: str) -> str:
    """The URL (or, for a few ``open-mmlab://`` entries, the local file) that ``uri`` names.

    Args:
        uri: ``torchvision://resnet50``, ``open-mmlab://resnet50_v1c``, ``mmcls://...`` or a URL
            (returned unchanged). ``modelzoo://`` is torchvision's old spelling.

    Raises:
        UnknownCheckpointNameError: (a KeyError) the name is in none of mmengine's tables; the
            message lists the closest known names.
        ValueError: ``uri`` uses none of these schemes.
    """
    if uri.startswith(URL_SCHEMES):
        return uri
    if uri.startswith(TORCHVISION_SCHEMES):
        scheme = 'torchvision://'
        name = uri.split('://', 1)[1]
        return _lookup(_torchvision_table(), scheme, name,
                       "torchvision's weights, as mmengine's get_torchvision_models() lists them")
    if uri.startswith(OPENMMLAB_SCHEMES):
        scheme, name = uri.split('://', 1)
        scheme += '://'
        renamed = _mmengine_json('deprecated.json').get(name)
        if renamed is not None:  # as mmengine renames them, with its warning
            print_log(f'{scheme}{name} is deprecated in favor of {scheme}{renamed}',
                      logger='current', level=logging.WARNING)
            name = renamed
        url = _lookup(_openmmlab_table(), scheme, name,
                      "mmengine's hub/openmmlab.json and $MMENGINE_HOME/open_mmlab.json")
        return url if url.startswith(URL_SCHEMES) else osp.join(_mmengine_home(), url)
    if uri.startswith(MMCLS_SCHEME):
        return _lookup(_mmengine_json('mmcls.json'), MMCLS_SCHEME, uri[len(MMCLS_SCHEME):],
                       "mmengine's hub/mmcls.json")
    raise ValueError(f'{uri!r} is not a URL nor a torchvision://, open-mmlab:// or mmcls:// name')


def cache_path(url: str) -> Path:
    """Where the file of ``url`` is kept: ``torch.hub.get_dir()/checkpoints/<basename>``."""
    return Path(torch.hub.get_dir()) / 'checkpoints' / osp.basename(urlparse(url).path)


def unavailable_message(uri: str, url: str, path: Path, reason: str,
                        from_scratch: str = FROM_SCRATCH_HINT) -> str:
    """The text of :class:`WeightsNotAvailableError` (also used by the training pre-flight)."""
    named = f'{uri} (= {url})' if uri != url else url
    return (f'weights {named} are not in the torch hub cache and could not be downloaded '
            f'({reason}). Download that URL on a machine with network access and put the file '
            f'at {path} (the torch hub cache, $TORCH_HOME/hub/checkpoints); segdet then uses '
            f'it offline. To train from scratch on purpose instead, pass {from_scratch}.')


def _download(url: str, dst: Path, progress: bool) -> None:
    """Download ``url`` to ``dst`` via a temporary file in the same folder (torch hub's)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    print_log(f'Downloading {url} to {dst}', logger='current')
    torch.hub.download_url_to_file(url, str(dst), progress=progress)


def fetch(uri: str, progress: Optional[bool] = None,
          download: Optional[Callable[[str, Path, bool], None]] = None) -> Path:
    """The local file of ``uri``: the cached copy, else a fresh download into the cache.

    In a distributed run rank 0 downloads first and the others wait for it (mmengine does
    the same); call this on every rank then.

    Args:
        uri: A URL or a ``torchvision://`` / ``open-mmlab://`` / ``mmcls://`` name.
        progress: Show a progress bar (default: when stderr is a terminal).
        download: ``(url, dst, progress)`` that writes ``dst``; default: torch hub's download
            (tests pass one that copies a local file).

    Returns:
        The path of the file in the torch hub cache (or the local file an ``open-mmlab://``
        entry names).

    Raises:
        WeightsNotAvailableError: not cached and the download failed (offline, proxy, HTTP
            error); the message names the URI, the URL, the cache path and the from-scratch
            option.
        UnknownCheckpointNameError: an unknown name.
    """
    url = resolve_url(uri)
    if not url.startswith(URL_SCHEMES):  # an open-mmlab:// entry naming a local file
        if not osp.isfile(url):
            raise FileNotFoundError(f'{uri} names the local file {url}, which does not exist')
        return Path(url)
    path = cache_path(url)
    rank, world_size = get_dist_info()
    if world_size > 1 and rank > 0:
        torch.distributed.barrier()  # rank 0 downloads first
    if not path.is_file():
        try:
            show = sys.stderr.isatty() if progress is None else progress
            (download or _download)(url, path, show)
        except Exception as err:  # noqa: BLE001 - URLError, HTTPError, timeouts, OSError, ...
            raise WeightsNotAvailableError(
                unavailable_message(uri, url, path, f'{type(err).__name__}: {err}'),
                uri=uri, url=url, cache_path=path) from err
        finally:
            if world_size > 1 and rank == 0:
                torch.distributed.barrier()
    elif world_size > 1 and rank == 0:
        torch.distributed.barrier()
    return path


def local_checkpoint(checkpoint: str) -> str:
    """The local file of a checkpoint given as a path or a URI (fetched into the cache).

    Raises:
        FileNotFoundError: a local path that does not exist.
        WeightsNotAvailableError: a URI neither cached nor downloadable.
    """
    if is_remote(checkpoint):
        path = str(fetch(checkpoint))
        print_log(f'checkpoint {checkpoint} -> {path}', logger='current')
        return path
    if not osp.isfile(osp.expanduser(checkpoint)):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    return osp.expanduser(checkpoint)


def load_uri(uri: str, map_location: Any = None) -> tuple[Any, str]:
    """Load what ``uri`` names with segdet's safe loader; also return the file it came from.

    Remote names go through :func:`fetch`; anything else (a local path, ``s3://``, ...) through
    mmengine's ``CheckpointLoader`` (segdet's safe loader for local paths once registered).
    ``mmcls://`` checkpoints keep their backbone keys, without the ``backbone.`` prefix, as
    mmengine's loader does.

    Returns:
        ``(checkpoint, file)``: the unpickled object and the local file (or ``uri`` for a
        storage backend without local files).
    """
    if not is_remote(uri):
        local = osp.expanduser(uri)
        return CheckpointLoader.load_checkpoint(local, map_location), (
            osp.abspath(local) if osp.exists(local) else uri)
    path = fetch(uri)
    checkpoint = load_checkpoint_file(path, map_location)
    if uri.startswith(MMCLS_SCHEME):
        from mmengine.runner.checkpoint import _process_mmcls_checkpoint
        checkpoint = _process_mmcls_checkpoint(checkpoint)
    return checkpoint, str(path)


# mmengine logs "Loads checkpoint by <name> backend" with <name> = the function name after
# ``load_from_``, hence these names (the same as mmengine's own loaders).
def load_from_http(filename: str, map_location: Any = None) -> Any:
    """``CheckpointLoader`` entry for ``http://`` and ``https://``."""
    return load_uri(filename, map_location)[0]


def load_from_torchvision(filename: str, map_location: Any = None) -> Any:
    """``CheckpointLoader`` entry for ``torchvision://`` (and the old ``modelzoo://``)."""
    return load_uri(filename, map_location)[0]


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """``CheckpointLoader`` entry for ``open-mmlab://`` and ``openmmlab://``."""
    return load_uri(filename, map_location)[0]


def load_from_mmcls(filename: str, map_location: Any = None) -> Any:
    """``CheckpointLoader`` entry for ``mmcls://``."""
    return load_uri(filename, map_location)[0]


_LOADERS: Sequence[tuple[Sequence[str], Callable]] = (
    (URL_SCHEMES, load_from_http), (TORCHVISION_SCHEMES, load_from_torchvision),
    (OPENMMLAB_SCHEMES, load_from_openmmlab), ((MMCLS_SCHEME, ), load_from_mmcls))


def install_hub_loaders() -> None:
    """Make this module's loaders mmengine's ``CheckpointLoader`` entries for the URI schemes,
    and segdet's :class:`~segdet.engine.pretrained.PretrainedInit` mmengine's ``Pretrained``
    initializer (the same loading, plus one INFO line naming the weights). Idempotent."""
    from mmengine.registry import WEIGHT_INITIALIZERS

    from .pretrained import PretrainedInit
    for prefixes, loader in _LOADERS:
        CheckpointLoader.register_scheme(prefixes=list(prefixes), loader=loader, force=True)
    WEIGHT_INITIALIZERS.register_module(name='Pretrained', module=PretrainedInit, force=True)
