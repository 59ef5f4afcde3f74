"""Helpers that read or adjust configs before a Runner is built."""
import copy
import os
import warnings
from typing import Any, Iterable, Optional, Union

from mmengine.config import Config


def _has_key_path(cfg: Any, dotted: str) -> bool:
    """Whether ``cfg`` has the key path ``a.b.0.c`` (list indices allowed)."""
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    for part in dotted.split('.'):
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                return False
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                return False
            node = node[part]
        else:
            return False
    return True


def unknown_cfg_option_keys(cfg: Config, options: Iterable[str]) -> list[str]:
    """The ``--cfg-options`` keys that do not exist in the resolved config.

    Such keys are usually typos (``optim_wraper.lr=...``): merging them adds a new key that
    nothing reads, and the run silently ignores the user's intent.

    Args:
        cfg: The resolved config, before merging the options.
        options: Dotted keys, e.g. ``['train_cfg.max_iters', 'model.decode_head.num_classes']``.

    Returns:
        The keys of ``options`` whose path is missing, in their given order.
    """
    return [k for k in options if not _has_key_path(cfg, k)]


def warn_unknown_cfg_options(cfg: Config, options: Iterable[str]) -> list[str]:
    """Warn once per ``--cfg-options`` key that the config does not contain; return them."""
    unknown = unknown_cfg_option_keys(cfg, options)
    for key in unknown:
        warnings.warn(
            f"--cfg-options key '{key}' is not in the resolved config {cfg.filename}: it adds "
            f'a new key that nothing in the config uses. Check the spelling '
            f'(tools/misc/print_config.py prints the resolved config).', UserWarning)
    return unknown


def load_config(path: Union[str, 'os.PathLike[str]'], cfg_options: Optional[dict] = None
                ) -> Config:
    """The tools' way to read a config: a named error for a missing file, then
    ``Config.fromfile``, then ``--cfg-options`` merged (with a warning per unknown key)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        warn_unknown_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def revert_sync_bn_cfg(cfg: Any) -> Any:
    """Return a copy of a (model) config with every ``SyncBN`` norm replaced by ``BN``.

    ``SyncBN`` needs an initialised process group; ``BN`` has the same parameters and buffers,
    so checkpoints are interchangeable. Used when training or testing without a launcher.
    """
    cfg = copy.deepcopy(cfg)

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if node.get('type') in ('SyncBN', 'MMSyncBN', 'TorchSyncBN'):
                node['type'] = 'BN'
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(cfg)
    return cfg
