"""The reference facts the tests compare segdet against, read in one place (not a test module).

Two kinds:

* State-dict keys and shapes of mmsegmentation 1.2.2 / mmdetection 3.3.0 models, stored in the
  repository under ``tests/data/state_dict_keys/`` (see its README). A missing file fails the
  test that asks for it: these facts are part of the repository, never optional.
* mmsegmentation 1.2.2's and mmdetection 3.3.0's own config files, for the config-equality
  tests. They are read from ``MMSEG_CONFIGS_DIR`` / ``MMDET_CONFIGS_DIR`` when set, otherwise
  from the two wheels fetched with ``pip download --no-deps`` into a cache directory
  (``$SEGDET_TEST_CACHE``, default ``~/.cache/segdet/tests``), of which only
  ``{mmseg,mmdet}/.mim/configs`` is unpacked: neither package is installed or imported.
"""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable, Mapping, NamedTuple

import pytest
from filelock import FileLock

STATE_DICT_KEYS_DIR = Path(__file__).resolve().parent / 'data' / 'state_dict_keys'


def state_dict_reference_names(subfolder: str = '') -> list[str]:
    """Sorted names (file stems) of the reference files directly in ``state_dict_keys/``.

    Args:
        subfolder: a folder below ``state_dict_keys/``; the default lists the top-level
            files, which the key tests cover one by one.

    Raises:
        FileNotFoundError: the folder is missing (a broken checkout).
    """
    folder = STATE_DICT_KEYS_DIR / subfolder
    if not folder.is_dir():
        raise FileNotFoundError(f'reference folder {folder} is missing: it is part of the '
                                'repository (tests/data/state_dict_keys)')
    return sorted(p.stem for p in folder.glob('*.json'))


def state_dict_reference(name: str) -> dict:
    """The reference file ``name`` (e.g. ``'fcn_r50-d8_4xb2-40k_cityscapes-512x1024'`` or
    ``'ann_r50-d8_4xb2-80k_cityscapes-512x1024'``), parsed.

    Returns:
        ``{'source': str, 'note': str, 'num_keys': int, 'keys': {key: shape}}``, the keys in the
        order of mmseg's / mmdet's ``state_dict()``, each shape a list of ints (``[]`` for
        scalars such as ``num_batches_tracked``).

    Fails the calling test (never skips) when the file is missing.
    """
    path = STATE_DICT_KEYS_DIR / f'{name}.json'
    if not path.is_file():
        pytest.fail(f'reference file {path} is missing: it is part of the repository '
                    '(tests/data/state_dict_keys)', pytrace=False)
    return json.loads(path.read_text())


def state_dict_keys(name: str, prefix: str = '') -> dict[str, list[int]]:
    """``{key: shape}`` of reference ``name``, only the keys starting with ``prefix``, with the
    prefix removed (``prefix='backbone.'`` gives the keys of the backbone module itself)."""
    keys = state_dict_reference(name)['keys']
    return {k[len(prefix):]: list(v) for k, v in keys.items() if k.startswith(prefix)}


class MMConfigs(NamedTuple):
    """The ``configs`` folders of mmsegmentation 1.2.2 and mmdetection 3.3.0."""
    mmseg: Path
    mmdet: Path


class ConfigsUnavailable(RuntimeError):
    """mmseg's / mmdet's configs could not be fetched (e.g. no network)."""


# (environment variable, distribution, version, folder inside the wheel)
MM_PACKAGES = (('MMSEG_CONFIGS_DIR', 'mmsegmentation', '1.2.2', 'mmseg/.mim/configs'),
               ('MMDET_CONFIGS_DIR', 'mmdet', '3.3.0', 'mmdet/.mim/configs'))
HOW_TO_PROVIDE = ('set MMSEG_CONFIGS_DIR / MMDET_CONFIGS_DIR to the mmseg/.mim/configs / '
                  'mmdet/.mim/configs folders of mmsegmentation 1.2.2 / mmdetection 3.3.0 '
                  '(e.g. unzipped from their wheels), or allow `pip download` to reach PyPI')
PIP_TIMEOUT_S = 300


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """``$SEGDET_TEST_CACHE``, else ``$XDG_CACHE_HOME/segdet/tests`` (``~/.cache/...``)."""
    if env.get('SEGDET_TEST_CACHE'):
        return Path(env['SEGDET_TEST_CACHE']).expanduser()
    return Path(env.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'segdet' / 'tests'


def running_in_ci(env: Mapping[str, str]) -> bool:
    """Whether ``CI`` is set to a true value (GitHub Actions and ``.ci/run`` set ``CI=true``)."""
    return env.get('CI', '').strip().lower() in ('1', 'true', 'yes')


def pip_download(requirement: str, dest: Path) -> None:
    """``pip download --no-deps`` of the wheel of ``requirement`` (e.g. ``'mmdet==3.3.0'``)
    into ``dest``; wheels only, so no package code runs to build metadata.

    Raises:
        ConfigsUnavailable: pip failed (its last output lines are in the message).
    """
    cmd = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:',
           '--disable-pip-version-check', '--no-input', '--retries', '1', '--timeout', '20',
           '-q', '-d', str(dest), requirement]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ConfigsUnavailable(
            f'`pip download {requirement}` took over {PIP_TIMEOUT_S} s') from None
    if done.returncode != 0:
        tail = '\n'.join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise ConfigsUnavailable(f'`pip download {requirement}` failed '
                                 f'(exit {done.returncode}): {tail}')


def unpack_folder(wheel: Path, folder: str, target: Path) -> None:
    """Extract only the members of ``wheel`` under ``folder`` into ``target``, atomically
    (through ``target.partial``, so an interrupted run leaves no half-filled ``target``).

    Raises:
        ValueError: the wheel has no file under ``folder``.
    """
    partial = target.with_name(target.name + '.partial')
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist() if n.startswith(folder + '/') and not n.endswith('/')]
        if not members:
            raise ValueError(f'{wheel} holds no files under {folder}/')
        zf.extractall(partial, members)
    partial.rename(target)


def fetch_configs(cache_dir: Path, distribution: str, version: str, folder: str,
                  download: Callable[[str, Path], None] = pip_download) -> Path:
    """The ``folder`` of wheel ``distribution==version``, downloaded and unpacked into
    ``cache_dir`` unless already there. Callers hold the cache's file lock.

    Returns:
        ``cache_dir/<distribution>-<version>/<folder>``.
    """
    target = cache_dir / f'{distribution}-{version}'
    if not target.is_dir():
        wheels = cache_dir / 'wheels'
        pattern = f'{distribution}-{version}-*.whl'
        found = sorted(wheels.glob(pattern))
        if not found:
            wheels.mkdir(parents=True, exist_ok=True)
            download(f'{distribution}=={version}', wheels)
            found = sorted(wheels.glob(pattern))
            if not found:
                raise ConfigsUnavailable(f'`pip download {distribution}=={version}` wrote no '
                                         f'{pattern} into {wheels}')
        unpack_folder(found[0], folder, target)
    return target / folder


def find_mm_configs(env: Mapping[str, str], cache_dir: Path,
                    download: Callable[[str, Path], None] = pip_download) -> MMConfigs:
    """mmsegmentation's and mmdetection's config folders: each from its environment variable
    when set, otherwise fetched into ``cache_dir`` (safe for parallel test processes).

    Raises:
        NotADirectoryError: an environment variable names no directory.
        ConfigsUnavailable: a wheel could not be fetched.
    """
    found = []
    for variable, distribution, version, folder in MM_PACKAGES:
        if env.get(variable):
            path = Path(env[variable]).expanduser()
            if not path.is_dir():
                raise NotADirectoryError(f'{variable}={env[variable]} is not a directory')
            found.append(path)
            continue
        cache_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cache_dir / '.lock')):
            found.append(fetch_configs(cache_dir, distribution, version, folder, download))
    return MMConfigs(*found)


def mm_configs_or_skip(env: Mapping[str, str],
                       download: Callable[[str, Path], None] = pip_download) -> MMConfigs:
    """:func:`find_mm_configs` for a test: when the wheels cannot be fetched, the test is
    skipped with a reason saying how to provide the configs, or fails under ``CI=true``."""
    try:
        return find_mm_configs(env, default_cache_dir(env), download)
    except ConfigsUnavailable as err:
        message = f'mmseg/mmdet configs not available ({err}); {HOW_TO_PROVIDE}'
        if running_in_ci(env):
            pytest.fail(f'{message} [CI is set: failing instead of skipping]', pytrace=False)
        pytest.skip(message)
