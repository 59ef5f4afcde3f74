"""tests/reference_data.py: the reference files are complete and well-formed, a missing one
fails (never skips), and mmseg's / mmdet's configs are taken from the environment variables or
fetched once into the cache, skipping offline and failing offline under ``CI=true``."""
import threading
import time
import zipfile
from pathlib import Path

import pytest

import reference_data
from reference_data import (STATE_DICT_KEYS_DIR, ConfigsUnavailable, MMConfigs, find_mm_configs,
                            mm_configs_or_skip, state_dict_keys, state_dict_reference,
                            state_dict_reference_names)

ALL_NAMES = state_dict_reference_names()


def test_reference_folder_layout():
    assert (STATE_DICT_KEYS_DIR / 'README.md').is_file()
    assert state_dict_reference_names()
    # the model-zoo references all have their configs now: none waits in a subfolder
    assert not [p for p in STATE_DICT_KEYS_DIR.iterdir() if p.is_dir()]
    with pytest.raises(FileNotFoundError, match='no-such-folder'):
        state_dict_reference_names('no-such-folder')


@pytest.mark.parametrize('name', ALL_NAMES)
def test_reference_file_is_well_formed(name: str):
    ref = state_dict_reference(name)
    stem = Path(name).name
    assert ref['source'].startswith(('mmseg 1.2.2 configs/', 'mmdet 3.3.0 configs/'))
    assert ref['source'].endswith(f'/{stem}.py')
    assert ref['num_keys'] == len(ref['keys']) > 0
    for key, shape in ref['keys'].items():
        assert isinstance(shape, list) and all(isinstance(n, int) and n > 0 for n in shape), key


def test_missing_reference_fails_instead_of_skipping():
    with pytest.raises(pytest.fail.Exception, match='no-such-model.json is missing'):
        state_dict_reference('no-such-model')


def test_state_dict_keys_strips_the_prefix():
    name = 'fcn_r50-d8_4xb2-40k_cityscapes-512x1024'
    full = state_dict_reference(name)['keys']
    head = state_dict_keys(name, prefix='decode_head.')
    assert head['conv_seg.weight'] == full['decode_head.conv_seg.weight'] == [19, 512, 1, 1]
    assert len(head) == sum(k.startswith('decode_head.') for k in full)
    assert state_dict_keys(name) == full


def fake_wheel(path: Path, package: str) -> None:
    """A wheel-shaped zip with two config files and a module that must not be unpacked."""
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr(f'{package}/.mim/configs/_base_/base.py', 'x = 1\n')
        zf.writestr(f'{package}/.mim/configs/algo/algo_cfg.py', "_base_ = ['../_base_/base.py']\n")
        zf.writestr(f'{package}/__init__.py', 'raise RuntimeError("never imported")\n')


class FakePip:
    """Stands in for ``pip download``: records requirements and writes a fake wheel."""

    def __init__(self, delay_s: float = 0.0):
        self.requirements: list[str] = []
        self.delay_s = delay_s

    def __call__(self, requirement: str, dest: Path) -> None:
        self.requirements.append(requirement)
        time.sleep(self.delay_s)
        distribution, version = requirement.split('==')
        package = {'mmsegmentation': 'mmseg', 'mmdet': 'mmdet'}[distribution]
        fake_wheel(dest / f'{distribution}-{version}-py3-none-any.whl', package)


def test_environment_variables_win_and_nothing_is_fetched(tmp_path: Path):
    (tmp_path / 'seg').mkdir()
    (tmp_path / 'det').mkdir()
    pip = FakePip()
    env = dict(MMSEG_CONFIGS_DIR=str(tmp_path / 'seg'), MMDET_CONFIGS_DIR=str(tmp_path / 'det'))
    assert find_mm_configs(env, tmp_path / 'cache', pip) == MMConfigs(tmp_path / 'seg',
                                                                      tmp_path / 'det')
    assert pip.requirements == [] and not (tmp_path / 'cache').exists()
    with pytest.raises(NotADirectoryError, match='MMDET_CONFIGS_DIR=.*nowhere'):
        find_mm_configs(dict(env, MMDET_CONFIGS_DIR=str(tmp_path / 'nowhere')), tmp_path, pip)


def test_fetches_once_and_unpacks_only_the_configs(tmp_path: Path):
    cache = tmp_path / 'cache'
    pip = FakePip()
    found = find_mm_configs({}, cache, pip)
    assert pip.requirements == ['mmsegmentation==1.2.2', 'mmdet==3.3.0']
    assert found == MMConfigs(cache / 'mmsegmentation-1.2.2' / 'mmseg/.mim/configs',
                              cache / 'mmdet-3.3.0' / 'mmdet/.mim/configs')
    unpacked = sorted(p.relative_to(cache).as_posix() for p in cache.rglob('*.py'))
    assert unpacked == ['mmdet-3.3.0/mmdet/.mim/configs/_base_/base.py',
                        'mmdet-3.3.0/mmdet/.mim/configs/algo/algo_cfg.py',
                        'mmsegmentation-1.2.2/mmseg/.mim/configs/_base_/base.py',
                        'mmsegmentation-1.2.2/mmseg/.mim/configs/algo/algo_cfg.py']
    assert find_mm_configs({}, cache, pip) == found and len(pip.requirements) == 2  # reused
    # A cached wheel is unpacked again without a download when its folder is gone.
    for folder in cache.glob('mm*-*'):
        for path in sorted(folder.rglob('*'), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        folder.rmdir()
    assert find_mm_configs({}, cache, pip) == found and len(pip.requirements) == 2


def test_parallel_processes_fetch_once(tmp_path: Path):
    pip = FakePip(delay_s=0.2)
    results = []
    workers = [threading.Thread(target=lambda: results.append(
        find_mm_configs({}, tmp_path, pip))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(pip.requirements) == ['mmdet==3.3.0', 'mmsegmentation==1.2.2']
    assert len(results) == 2 and results[0] == results[1]


def test_wheel_without_configs_is_an_error(tmp_path: Path):
    wheel = tmp_path / 'empty.whl'
    with zipfile.ZipFile(wheel, 'w') as zf:
        zf.writestr('mmseg/__init__.py', '')
    with pytest.raises(ValueError, match='empty.whl holds no files under mmseg/.mim/configs'):
        reference_data.unpack_folder(wheel, 'mmseg/.mim/configs', tmp_path / 'out')
    assert not (tmp_path / 'out').exists()


def offline_pip(requirement: str, dest: Path) -> None:
    raise ConfigsUnavailable(f'`pip download {requirement}` failed (exit 1): no network')


@pytest.mark.parametrize('ci, outcome', [('', pytest.skip.Exception),
                                         ('false', pytest.skip.Exception),
                                         ('true', pytest.fail.Exception),
                                         ('1', pytest.fail.Exception)])
def test_offline_skips_with_instructions_or_fails_in_ci(tmp_path: Path, ci: str, outcome):
    env = dict(CI=ci, SEGDET_TEST_CACHE=str(tmp_path))
    with pytest.raises(outcome) as err:
        mm_configs_or_skip(env, offline_pip)
    message = str(err.value)
    assert 'no network' in message and 'MMSEG_CONFIGS_DIR' in message
    assert 'MMDET_CONFIGS_DIR' in message


def test_default_cache_dir(tmp_path: Path):
    assert reference_data.default_cache_dir(dict(SEGDET_TEST_CACHE=str(tmp_path))) == tmp_path
    assert reference_data.default_cache_dir(dict(XDG_CACHE_HOME=str(tmp_path))) == \
        tmp_path / 'segdet' / 'tests'
    assert reference_data.default_cache_dir({}) == Path.home() / '.cache' / 'segdet' / 'tests'
