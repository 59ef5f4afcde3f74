"""tools/misc/make_shapes_data.py: generate, skip when up to date, refuse or --force otherwise."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'misc' / 'make_shapes_data.py'
SMALL = ['--num-train', '3', '--num-val', '2', '--size', '48']


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('make_shapes_data', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pngs(root: Path) -> dict[str, float]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob('*.png')}


def test_command_line_writes_then_skips(tmp_path: Path, tool, capsys) -> None:
    root = tmp_path / 'shapes'
    done = subprocess.run([sys.executable, str(TOOL), '--root', str(root), *SMALL],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f'Wrote 3 train + 2 val images, 48x48, seed 0 to {root}' in done.stdout
    assert '5/5' in done.stdout  # the progress bar reached the end
    before = pngs(root)
    assert len(before) == 10
    assert json.loads((root / 'meta.json').read_text())['params']['num_train'] == 3

    # Same parameters: nothing is rewritten.
    assert tool.main(['--root', str(root), *SMALL]) == 0
    assert 'already holds the shapes data' in capsys.readouterr().out
    assert pngs(root) == before


def test_other_parameters_need_force(tmp_path: Path, tool, capsys) -> None:
    root = tmp_path / 'shapes'
    assert tool.main(['--root', str(root), *SMALL]) == 0
    before = pngs(root)
    capsys.readouterr()

    smaller = ['--num-train', '1', '--num-val', '1', '--size', '48']
    assert tool.main(['--root', str(root), *smaller]) == 1
    err = capsys.readouterr().err
    assert 'other parameters' in err and '--force' in err and str(root) in err
    assert pngs(root) == before  # untouched

    assert tool.main(['--root', str(root), *smaller, '--force']) == 0
    assert 'Wrote 1 train + 1 val images' in capsys.readouterr().out
    assert len(pngs(root)) == 4  # the files of the larger tree are gone
    assert json.loads((root / 'meta.json').read_text())['params']['num_train'] == 1


def test_refuses_a_directory_that_is_not_a_shapes_tree(tmp_path: Path, tool, capsys) -> None:
    (tmp_path / 'notes.txt').write_text('mine')
    assert tool.main(['--root', str(tmp_path), *SMALL]) == 1
    assert 'no meta.json' in capsys.readouterr().err
    assert not (tmp_path / 'meta.json').exists()


def test_missing_files_are_reported(tmp_path: Path, tool, capsys) -> None:
    assert tool.main(['--root', str(tmp_path), *SMALL]) == 0
    next((tmp_path / 'gtFine').rglob('*.png')).unlink()
    capsys.readouterr()
    assert tool.main(['--root', str(tmp_path), *SMALL]) == 1
    assert 'missing files' in capsys.readouterr().err
    assert tool.main(['--root', str(tmp_path), *SMALL, '--force']) == 0
    assert len(pngs(tmp_path)) == 10
