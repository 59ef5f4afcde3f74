"""Helpers that read or adjust configs before a Runner is built."""
import ast
import copy
import os
import warnings
from typing import Any, Iterable, Optional, Union

from mmengine.config import Config, ConfigDict

from .config_variables import follow_top_level_variables


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


def _base_paths(tree: ast.Module, path: str) -> list[str]:
    """The local files a parsed config names in ``_base_`` (package ``pkg::`` bases left out)."""
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == '_base_'):
            try:
                bases = ast.literal_eval(node.value)
            except ValueError:
                return []
            bases = [bases] if isinstance(bases, str) else list(bases)
            return [os.path.normpath(os.path.join(os.path.dirname(path), b)) for b in bases
                    if isinstance(b, str) and '::' not in b]
    return []


def find_config_syntax_error(path: str) -> Optional[tuple[SyntaxError, list[str]]]:
    """The first syntax error in the config ``path`` or its ``_base_`` files, depth first.

    mmengine parses configs without a file name, so its ``SyntaxError`` reads
    ``File "<unknown>"``; this parses them again, naming each file.

    Returns:
        ``(error, chain)``: the error (its ``filename``, ``lineno``, ``offset`` and ``text``
        set) and the configs from ``path`` down to the one that inherits the bad file; None
        when every file parses.
    """
    chain: list[str] = []
    seen: set[str] = set()

    def visit(file: str) -> Optional[SyntaxError]:
        seen.add(os.path.abspath(file))
        with open(file, encoding='utf-8') as f:
            text = f.read()
        try:
            tree = ast.parse(text, filename=file)
        except SyntaxError as err:
            return err
        chain.append(file)
        for base in _base_paths(tree, file):
            if os.path.abspath(base) not in seen and os.path.isfile(base):
                found = visit(base)
                if found is not None:
                    return found
        chain.pop()
        return None

    error = visit(path)
    return None if error is None else (error, chain)


def _read_config(path: str) -> Config:
    """``Config.fromfile(path)``; a syntax error names its file and line."""
    try:
        return Config.fromfile(path)
    except SyntaxError as err:
        if err.filename and os.path.isfile(err.filename):
            raise  # already names a real file (e.g. a module from custom_imports)
        found = find_config_syntax_error(path)
        if found is None:
            raise
        error, chain = found
        via = f' (a _base_ of {" <- ".join(reversed(chain))})' if chain else ''
        raise SyntaxError(f'{error.msg} in config file {error.filename}, line {error.lineno}'
                          f'{via}',
                          (error.filename, error.lineno, error.offset, error.text)) from None


def load_config(path: Union[str, 'os.PathLike[str]'], cfg_options: Optional[dict] = None
                ) -> Config:
    """The tools' way to read a config.

    A named error for a missing file or a syntax error (file and line, also in a ``_base_``),
    then ``Config.fromfile``, then ``--cfg-options`` merged: a warning per unknown key, and an
    option on a top-level variable (``data_root=DIR``) also sets the keys that took the
    variable's value when the config was read (see
    :func:`~segdet.utils.config_variables.follow_top_level_variables`).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = _read_config(path)
    if cfg_options:
        warn_unknown_cfg_options(cfg, cfg_options)
        followers = follow_top_level_variables(cfg, cfg_options)
        cfg.merge_from_dict({**followers, **cfg_options})
    return cfg


def check_work_dir(work_dir: str, source: str = '--work-dir') -> None:
    """Refuse a work dir that is, or lies under, an existing file (before a Runner fails on it
    with a bare ``FileExistsError``).

    Args:
        work_dir: The work dir a tool is about to use.
        source: Where it came from, for the message (e.g. '--work-dir', 'config work_dir').

    Raises:
        NotADirectoryError: ``work_dir`` or one of its parents is an existing file.
    """
    path = os.path.abspath(work_dir)
    while True:
        if os.path.exists(path):
            if not os.path.isdir(path):
                what = 'is' if path == os.path.abspath(work_dir) else f'lies under {path}, which is'
                raise NotADirectoryError(
                    f'{source} {work_dir} {what} an existing file, not a directory; choose a '
                    f'directory for logs and checkpoints')
            return
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


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


def as_config_dict(cfg: Any, name: str = 'cfg') -> Optional[ConfigDict]:
    """A model's ``train_cfg`` / ``test_cfg`` argument as a ``ConfigDict`` (None stays None).

    Accepts a dict, a ``ConfigDict`` or a whole mmengine ``Config`` (whose items are copied;
    ``ConfigDict(Config)`` itself fails), as mmseg's and mmdet's heads do.

    Raises:
        TypeError: ``cfg`` is none of these.
    """
    if cfg is None:
        return None
    if isinstance(cfg, Config):
        return ConfigDict(cfg.to_dict())
    if isinstance(cfg, dict):  # ConfigDict is a dict
        return ConfigDict(cfg)
    raise TypeError(f'{name} must be a dict, ConfigDict or Config, got {type(cfg).__name__}')
