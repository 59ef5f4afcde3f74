"""Run the documentation's code blocks that are marked runnable, as written, on small data.

A block preceded by ``<!-- runnable: ... -->`` is run command by command (python blocks as a
script) in one sandbox directory that links the repository's configs/, tools/, projects/ and
demo/, in the order of DOCS, so that data and checkpoints made by one block serve the next.
To keep the suite fast, and only so, commands are shrunk the same way every time:
``make_shapes_data.py`` writes 8 + 4 images of 64x64, ``train.py`` runs 2 iterations of 2
images (logging every iteration, a checkpoint and a validation at the end), and the
checkpoint names the docs use after training (``iter_1500.pth``, ``iter_600.pth``) become
``iter_2.pth``.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = ['docs/get_started.md', 'configs/demo/README.md', 'docs/apis.md', 'docs/tools.md',
        'projects/example_project/README.md', 'projects/example_det_project/README.md',
        'docs/customize_models.md', 'docs/model_zoo.md']
MARK = '<!-- runnable'
SMALL_DATA = ' --num-train 8 --num-val 4 --size 64'
SMALL_TRAIN = ('train_cfg.max_iters=2 train_cfg.val_interval=2 default_hooks.checkpoint.interval=2 '
               'default_hooks.logger.interval=1 train_dataloader.batch_size=2 '
               'train_dataloader.num_workers=0 train_dataloader.persistent_workers=False '
               'val_dataloader.num_workers=0 val_dataloader.persistent_workers=False')


def runnable_blocks(path: Path) -> list[tuple[str, str]]:
    """(language, code) of every block right after a runnable marker, in file order."""
    blocks, lines = [], path.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line.startswith(MARK):
            continue
        fence = lines[i + 1]
        assert fence.startswith('```'), f'{path}:{i + 2}: the marker must precede a code fence'
        end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith('```'))
        blocks.append((fence[3:].strip() or 'shell', '\n'.join(lines[i + 2:end])))
    return blocks


def shell_commands(code: str) -> list[str]:
    """Commands of a shell block: continuation lines joined, comments and blanks dropped."""
    joined = re.sub(r'\s*\\\n\s*', ' ', code)
    return [c.split(' #')[0].strip() for c in joined.splitlines()
            if c.strip() and not c.strip().startswith('#')]


def shrink(command: str) -> str:
    for trained in ('iter_1500.pth', 'iter_600.pth'):
        command = command.replace(trained, 'iter_2.pth')
    if 'tools/misc/make_shapes_data.py' in command:
        command += SMALL_DATA
    if 'tools/train.py' in command:
        command += (' ' if '--cfg-options' in command else ' --cfg-options ') + SMALL_TRAIN
    if command.startswith('python '):
        command = f'"{sys.executable}" ' + command[len('python '):]
    return command


def test_every_listed_doc_has_runnable_blocks() -> None:
    for doc in DOCS:
        assert runnable_blocks(REPO / doc), f'{doc} has no runnable block'


def test_shell_commands_parse() -> None:
    assert shell_commands('a \\\n    b  # note\n# comment\n\nc') == ['a b', 'c']
    assert 'iter_2.pth' in shrink('python tools/test.py c.py w/iter_1500.pth')


def test_runnable_blocks_run(tmp_path: Path) -> None:
    sandbox = tmp_path / 'sandbox'
    sandbox.mkdir()
    for name in ('configs', 'tools', 'projects', 'demo'):
        (sandbox / name).symlink_to(REPO / name)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(p for p in (str(REPO), env.get('PYTHONPATH')) if p)
    for doc in DOCS:
        for number, (language, code) in enumerate(runnable_blocks(REPO / doc)):
            if language == 'python':
                script = sandbox / f'block_{Path(doc).stem}_{number}.py'
                script.write_text(code.replace('iter_1500.pth', 'iter_2.pth'))
                commands = [f'"{sys.executable}" {script.name}']
            else:
                commands = [shrink(c) for c in shell_commands(code)]
            for command in commands:
                done = subprocess.run(command, shell=True, cwd=sandbox, env=env,
                                      capture_output=True, text=True, timeout=600)
                if done.returncode != 0:
                    pytest.fail(f'{doc}, block {number}: `{command}` failed '
                                f'(rc {done.returncode}):\n{done.stderr[-3000:]}')
    assert (sandbox / 'curve.png').stat().st_size > 0  # from docs/tools.md
    assert (sandbox / 'overlay.png').stat().st_size > 0  # from docs/apis.md
