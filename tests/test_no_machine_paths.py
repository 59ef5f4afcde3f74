"""No Python file of the repository names a location of one machine ('/work/...', '/home/...',
'/tmp/...'): such a path works where it was written and silently means something else, or
nothing, on a clean checkout elsewhere. Files find their data relative to themselves
(``Path(__file__)``), temporary files go through ``tempfile`` / pytest's ``tmp_path``, and
caches through the user's home (``~``) or an environment variable.

Checked: string constants (through ``ast``, f-string parts included) and comments.
"""
import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = ('tests', 'segdet', 'tools', 'configs', 'projects', '.dev_scripts')
# The root of a machine path: user homes, scratch and temporary folders, mount points.
MACHINE_PATH = re.compile(r'(?<![\w.~-])/(?:work|root|home|Users|tmp|mnt|scratch)(?=/|$|[\s\'"])')


def machine_paths(source: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every string constant and comment of ``source`` holding a path that
    starts at a machine-specific root."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and MACHINE_PATH.search(node.value)):
            found.append((node.lineno, node.value))
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT and MACHINE_PATH.search(tok.string):
            found.append((tok.start[0], tok.string))
    return sorted(found)


def python_files() -> list[Path]:
    """The scanned files, except this one (whose examples are machine paths on purpose)."""
    files = [p for folder in SCANNED for p in sorted((REPO / folder).rglob('*.py'))]
    return [p for p in files if '__pycache__' not in p.parts and p != Path(__file__).resolve()]


@pytest.mark.parametrize('source, lines', [
    ("DATA = '/work/shared/reference'\n", [1]),
    ("x = 1\nf(f'/home/{user}/data')\n", [2]),
    ("def f():\n    '''Reads /tmp/x.'''\n", [2]),
    ("open('/root/.cache/a')  # and /tmp/b\n", [1, 1]),
    ("p = '/tmp'\n", [1]),
    ("osp.join('work', 'tmp', 'home/a')\nurl = 'http://host/work/x'\n", []),
    ("p = '~/.cache/segdet'\nq = 'data/tmp/x'\nr = './tmp/x'\n", []),
])
def test_machine_paths_finds_roots_only(source, lines):
    assert [line for line, _ in machine_paths(source)] == lines


def test_no_python_file_names_a_machine_path():
    files = python_files()
    assert len(files) > 100 and any(p.parts[-2:] == ('tests', 'conftest.py') for p in files)
    offenders = [f'{p.relative_to(REPO)}:{line}: {text.strip()[:120]!r}'
                 for p in files for line, text in machine_paths(p.read_text())]
    assert not offenders, 'machine-specific absolute paths:\n' + '\n'.join(offenders)
