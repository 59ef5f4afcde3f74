"""Turn mmengine's "X is not in the registry" errors into one line a user can act on.

mmengine says which registry missed but not where in the config the name sits, nor which
names were meant. :func:`unknown_type_message` adds the config key path, the scope, the closest
registered names and the state of ``custom_imports``; :func:`registry_hints` applies it to
whatever a block of code raises (used by ``tools/*.py`` and ``segdet.apis``).
"""
import difflib
import importlib
import re
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from mmengine.registry import Registry

_MISS = re.compile(r"(?P<type>[\w.\-]+) is not in the (?:(?P<scope>[\w\-]+)::)?(?P<name>[\w \-]+)"
                   r' registry')


def find_type_paths(cfg: Any, type_name: str, prefix: str = '') -> list[str]:
    """Key paths of the dicts in ``cfg`` whose ``type`` is ``type_name``.

    Args:
        cfg: A (nested) config: dicts, lists and scalars.
        type_name: The value of ``type`` to look for.
        prefix: Path of ``cfg`` itself.

    Returns:
        Dotted paths such as ``['model.decode_head.type']`` (list items by index).
    """
    found = []
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            path = f'{prefix}.{key}' if prefix else str(key)
            if key == 'type' and value == type_name:
                found.append(path)
            else:
                found += find_type_paths(value, type_name, path)
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            found += find_type_paths(value, type_name, f'{prefix}.{i}' if prefix else str(i))
    return found


def _all_registries() -> list[Registry]:
    """mmengine's root registries, then segdet's (their children of scope ``segdet``).

    segdet's registries are found through their mmengine parents, so ``segdet.utils`` needs no
    import of ``segdet.registry`` (it exists whenever a segdet-scoped lookup has run).
    """
    import mmengine.registry as mm_registry

    roots = [v for v in vars(mm_registry).values() if isinstance(v, Registry)]
    return roots + [child for root in roots for child in root.children.values()
                    if child.scope == 'segdet']


def registered_names(registry: Registry) -> list[str]:
    """Names visible from ``registry``: its own, its children's (scoped) and its parents'."""
    if registry.scope == 'segdet':
        registry.import_from_location()
    names: set[str] = set()
    node: Optional[Registry] = registry
    while node is not None:
        names.update(node.module_dict)
        node = node.parent
    return sorted(names)


def _registry_for(name: str, scope: Optional[str]) -> Optional[Registry]:
    candidates = [r for r in _all_registries() if r.name == name]
    for reg in candidates:
        if scope is None or reg.scope == scope:
            return reg
    return candidates[0] if candidates else None


def _custom_imports_state(cfg: Any) -> str:
    imports = (cfg.get('custom_imports') or {}).get('imports', []) if isinstance(cfg, dict) else []
    if isinstance(imports, str):
        imports = [imports]
    if not imports:
        return 'no custom_imports in the config'
    failed = []
    for module in imports:
        try:
            importlib.import_module(module)
        except Exception as err:  # noqa: BLE001 - report any import failure by name
            failed.append(f'{module} ({type(err).__name__}: {err})')
    if failed:
        return 'custom_imports that FAILED to import: ' + '; '.join(failed)
    return f'custom_imports {list(imports)} imported fine'


def unknown_type_message(error: BaseException, cfg: Any = None) -> Optional[str]:
    """A one-line explanation of an mmengine unknown-type ``KeyError``; None for other errors.

    Args:
        error: The exception raised while building from a config.
        cfg: The config that was being built (a dict or ``mmengine.Config``), to find the key
            path of the unknown type and the ``custom_imports`` entries.

    Returns:
        E.g. ``"unknown type 'PSPHaed' at model.decode_head.type: not in the segdet::model
        registry (scope 'segdet'); closest registered names: PSPHead, ASPPHead; no
        custom_imports in the config"``, or None when ``error`` is not such an error.
    """
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    match = _MISS.search(str(text))
    if match is None:
        return None
    type_name, scope, reg_name = match['type'], match['scope'], match['name'].strip()
    registry = _registry_for(reg_name, scope)
    names = registered_names(registry) if registry is not None else []
    short = type_name.split('.')[-1]
    close = difflib.get_close_matches(short, names, n=5, cutoff=0.6)
    close += [n for n in names if n.lower() == short.lower() and n not in close]
    elsewhere = sorted({r.name for r in _all_registries()
                        if r.name != reg_name and short in registered_names(r)})
    if cfg is not None and not isinstance(cfg, dict) and hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()  # an mmengine Config is not a dict itself
    paths = find_type_paths(cfg, type_name) if cfg is not None else []
    where = f' at {", ".join(paths)}' if paths else ''
    parts = [f"unknown type '{type_name}'{where}: not in the "
             f"{scope + '::' if scope else ''}{reg_name} registry (scope {scope or 'root'!r})",
             'closest registered names: ' + (', '.join(close) if close else 'none')]
    if elsewhere:
        parts.append(f"'{short}' is registered in the {', '.join(elsewhere)} registry instead")
    if '.' in type_name:
        parts.append(f"'{type_name.split('.')[0]}' scope: is that package installed and imported?")
    if cfg is not None:
        parts.append(_custom_imports_state(cfg))
    return '; '.join(parts)


class UnknownTypeError(KeyError):
    """A config names a ``type`` that its registry does not know (message without quotes)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


@contextmanager
def registry_hints(cfg: Any = None) -> Iterator[None]:
    """Re-raise unknown-type ``KeyError``s of the block as :class:`UnknownTypeError`."""
    try:
        yield
    except KeyError as err:
        message = unknown_type_message(err, cfg)
        if message is None:
            raise
        raise UnknownTypeError(message) from err
