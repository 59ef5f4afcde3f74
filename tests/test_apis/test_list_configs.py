"""segdet.list_configs finds shipped configs by shell pattern.

Properties only, no full list: adding a config must not break these tests.
"""
from pathlib import Path

import pytest
from mmengine.config import Config

import segdet
from segdet.config_index import config_root

KNOWN = 'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py'


@pytest.fixture(scope='module')
def every_config() -> list[str]:
    return segdet.list_configs()


def test_lists_every_config_outside_base_sorted_and_unique(every_config: list[str]) -> None:
    root = config_root()
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob('*.py')
               if p.relative_to(root).parts[0] != '_base_'}
    # All of them, each once, sorted folder by folder.
    assert every_config == sorted(on_disk, key=lambda p: Path(p).parts)
    assert KNOWN in every_config
    assert not any(p.startswith('_base_') for p in every_config)
    assert all(len(Path(p).parts) == 2 for p in every_config)  # <algorithm folder>/<name>.py


def test_every_listed_config_loads(every_config: list[str]) -> None:
    for rel in every_config:
        cfg = Config.fromfile(str(config_root() / rel))
        assert 'model' in cfg and cfg.model.type, rel


def test_name_patterns_select_exactly_the_matching_names(every_config: list[str]) -> None:
    psp = segdet.list_configs('pspnet_r50*')
    assert KNOWN in psp
    assert psp == [p for p in every_config if Path(p).name.startswith('pspnet_r50')]
    amp = segdet.list_configs('*amp*')
    assert amp == [p for p in every_config if 'amp' in p]
    assert {'deeplabv3plus', 'fcn', 'mask_rcnn', 'pspnet'} <= {Path(p).parent.name for p in amp}
    assert segdet.list_configs('no-such-model*') == []


def test_path_patterns_select_folders(every_config: list[str]) -> None:
    demo = segdet.list_configs('demo/*')
    assert 'demo/deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py' in demo
    assert demo == [p for p in every_config if p.startswith('demo/')]
    voc = segdet.list_configs('deeplabv3plus/*voc*')
    assert voc and voc == [p for p in every_config
                           if p.startswith('deeplabv3plus/') and 'voc' in Path(p).name]
    # A relative path with or without ``.py`` names one config.
    assert segdet.list_configs(KNOWN) == [KNOWN] == segdet.list_configs(KNOWN[:-len('.py')])


def test_full_paths_are_the_same_configs() -> None:
    rel = segdet.list_configs('fcn_r50-d8*')
    paths = segdet.list_configs('fcn_r50-d8*', full_path=True)
    assert rel and len(paths) == len(rel)
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in paths)
    assert [Path(p).relative_to(config_root()).as_posix() for p in paths] == rel
