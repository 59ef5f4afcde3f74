"""``--cfg-options`` on a config's top-level variables (``data_root=DIR``, ``num_classes=5``).

A Python config's variables are evaluated when the file is read: after ``Config.fromfile``,
``train_dataloader.dataset.data_root`` holds the string ``'data/shapes'``, not a reference to
``data_root``. Merging ``data_root=DIR`` alone would change only the top-level key, and the
data sets would still read the old path. :func:`follow_top_level_variables` finds the keys
that took the variable's value and gives them the new one:

- a key of the same name holding the same value (``data_root=data_root``,
  ``num_classes=num_classes``, ``max_iters=max_iters``);
- for a string variable, any string equal to it (``type=dataset_type``) and, for a path, any
  string that starts with it as a directory (``ann_file=data_root + 'annotations/x.json'``).

Keys that hold the same non-string value under another name (``end=max_iters`` in a
scheduler) may or may not come from the variable: they are left unchanged and named in a
warning. Keys the options set themselves are never touched.
"""
import logging
import os.path as osp
import warnings
from typing import Any, Iterator

from mmengine.config import Config
from mmengine.logging import print_log


def _walk(node: Any, prefix: str = '') -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every dict value and list item under ``node``, depth first."""
    if isinstance(node, dict):
        items = ((str(k), v) for k, v in node.items())
    elif isinstance(node, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(node))
    else:
        return
    for key, value in items:
        path = f'{prefix}.{key}' if prefix else key
        yield path, value
        yield from _walk(value, path)


def _set_by_options(path: str, options: dict) -> bool:
    """Whether an option key sets ``path``, a key above it or a key below it."""
    return any(path == k or path.startswith(k + '.') or k.startswith(path + '.')
               for k in options)


def _plain(value: Any) -> bool:
    """A number, string or bool, or a list/tuple of them: what a config variable usually is."""
    scalar = (str, int, float)  # bool is an int
    return isinstance(value, scalar) or (
        isinstance(value, (list, tuple)) and all(isinstance(v, scalar) for v in value))


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same type (so that ``True`` is not ``1`` and ``4`` is not ``4.0``)."""
    return type(a) is type(b) and a == b


def _under_path(old: str, value: str) -> bool:
    """Whether ``value`` is a path inside the directory ``old`` ('data/coco/' + 'ann.json')."""
    if '/' not in old or len(value) <= len(old) or not value.startswith(old):
        return False
    return old.endswith('/') or value[len(old)] == '/'


def follow_top_level_variables(cfg: Config, options: dict) -> dict[str, Any]:
    """The extra options that carry top-level variable overrides into the keys that used them.

    Reports the keys it adds in the log (INFO) and warns about keys that hold a variable's old
    non-string value under another name (see the module docstring).

    Args:
        cfg: The resolved config, before merging ``options``.
        options: ``--cfg-options`` as ``{dotted key: value}``.

    Returns:
        ``{dotted key: new value}`` for the keys that follow a variable in ``options``; merge
        them together with ``options``.
    """
    root = cfg._cfg_dict
    follow: dict[str, Any] = {}
    for name, new in options.items():
        if '.' in name or name not in root:
            continue
        old = root[name]
        if not _plain(old) or _same(old, new):
            continue
        followed, stale = [], []
        for path, value in _walk(root):
            if path.split('.')[0] == name or _set_by_options(path, options):
                continue
            if isinstance(old, str) and isinstance(value, str):
                if value == old:
                    follow[path] = new
                elif isinstance(new, str) and _under_path(old, value):
                    follow[path] = osp.join(new, value[len(old):].lstrip('/'))
                else:
                    continue
                followed.append(path)
            elif _same(value, old):
                if path.rsplit('.', 1)[-1] == name:
                    follow[path] = new
                    followed.append(path)
                elif not isinstance(old, bool) and not path.rsplit('.', 1)[-1].isdigit():
                    stale.append(path)  # list items (dilations.3) are left out: mere noise
        if followed:
            print_log(f'--cfg-options {name}={new!r} also sets {", ".join(followed)}, which '
                      f'took the old value {old!r} of the top-level variable {name!r} when the '
                      f'config was read.', logger='current', level=logging.INFO)
        if stale:
            warnings.warn(
                f'--cfg-options {name}={new!r} changes the top-level variable {name!r}, but '
                f'these keys hold its old value {old!r} under other names and keep it: '
                f'{", ".join(stale)}. If one of them was set from {name!r}, give it in '
                f'--cfg-options too (e.g. {stale[0]}={new!r}).', UserWarning, stacklevel=3)
    return follow
