"""``segdet.utils`` imports no other segdet package: the other packages build on it, not the
reverse.

Every file of ``segdet/utils`` is parsed with ``ast``; imports inside functions count too, so a
lazy import cannot hide a dependency.
"""
import ast
from pathlib import Path

import pytest

UTILS = Path(__file__).resolve().parents[2] / 'segdet' / 'utils'
FILES = sorted(UTILS.rglob('*.py'))


def segdet_imports(source: str, package: str, filename: str = '<source>'
                   ) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import of a ``segdet`` module in ``source``.

    Args:
        source: Python source text.
        package: Dotted package the file belongs to (``'segdet.utils'``), for relative imports.
        filename: Named in syntax errors.
    """
    parts = package.split('.')
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ''
            if node.level:
                base = parts[:len(parts) - (node.level - 1)]
                module = '.'.join(base + ([module] if module else []))
            # ``from segdet import engine`` imports segdet.engine.
            names = ([f'{module}.{alias.name}' for alias in node.names]
                     if module == 'segdet' else [module])
        else:
            continue
        found += [(node.lineno, name) for name in names
                  if name == 'segdet' or name.startswith('segdet.')]
    return sorted(found)


def outside_utils(source: str, package: str, filename: str) -> list[str]:
    """``'file:line imports segdet.x'`` for each import of a segdet package other than utils."""
    return [f'{filename}:{line} imports {name}'
            for line, name in segdet_imports(source, package, filename)
            if not (name == 'segdet.utils' or name.startswith('segdet.utils.'))]


def package_of(path: Path) -> str:
    return '.'.join(['segdet'] + list(path.relative_to(UTILS.parent).parts[:-1]))


def test_utils_has_files() -> None:
    assert len(FILES) >= 3, f'expected the segdet/utils sources under {UTILS}'


@pytest.mark.parametrize('path', FILES, ids=lambda p: str(p.relative_to(UTILS)))
def test_utils_file_imports_only_utils(path: Path) -> None:
    assert outside_utils(path.read_text(), package_of(path), f'segdet/utils/{path.name}') == []


def test_the_check_sees_lazy_and_relative_imports() -> None:
    source = ('import os\nfrom . import config_utils\nfrom .cpu_allocator import x\n'
              'def f():\n    from ..engine import runtime\n    import segdet.registry\n'
              '    from segdet import models\n    from segdet.utils.config_utils import y\n'
              '    from .. import apis\n')
    assert [name for _, name in segdet_imports(source, 'segdet.utils')] == [
        'segdet.utils', 'segdet.utils.cpu_allocator', 'segdet.engine', 'segdet.registry',
        'segdet.models', 'segdet.utils.config_utils', 'segdet.apis']
    assert outside_utils(source, 'segdet.utils', 'probe.py') == [
        'probe.py:5 imports segdet.engine', 'probe.py:6 imports segdet.registry',
        'probe.py:7 imports segdet.models', 'probe.py:9 imports segdet.apis']
