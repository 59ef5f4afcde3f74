"""Weights named by URI (segdet/engine/hub.py): mmengine's names resolve to URLs, a cached file
is used without the network, a download lands in the torch hub cache once, an offline run gets
one error naming the URI, the URL, the cache path and the from-scratch option, an unknown name
gets the closest known ones, and everything loads through the safe loader.

No test reaches the network: ``TORCH_HOME`` is a temporary folder, downloads are replaced by
a function that copies a local file or raises, and the one test of the real download path
sends it to a proxy on 127.0.0.1 that refuses the connection (no DNS lookup either).
"""
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from segdet.engine import (UnknownCheckpointNameError, UnsafeCheckpointError,
                           WeightsNotAvailableError, cache_path, fetch, load_uri,
                           register_all_modules, resolve_url)
from segdet.engine import hub

RESNET50_V1C = 'https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth'
UNREACHABLE_PROXY = 'http://127.0.0.1:9'  # the discard port: nothing listens, connection refused


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``TORCH_HOME``; its hub cache is ``<it>/hub/checkpoints``."""
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    return home


def copier(source: Path, calls: list):
    """A download function that copies ``source`` (and records each call)."""
    def download(url: str, dst: Path, progress: bool) -> None:
        calls.append(url)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, dst)
    return download


def test_names_resolve_with_mmengines_tables(torch_home):
    assert resolve_url('open-mmlab://resnet50_v1c') == RESNET50_V1C
    assert resolve_url('openmmlab://resnet50_v1c') == RESNET50_V1C
    assert resolve_url('torchvision://resnet50') == \
        'https://download.pytorch.org/models/resnet50-0676ba61.pth'
    assert resolve_url('modelzoo://resnet50') == resolve_url('torchvision://resnet50')
    # mmengine's deprecated names map to their successors
    assert resolve_url('open-mmlab://resnet50_caffe') == resolve_url(
        'open-mmlab://detectron/resnet50_caffe')
    assert resolve_url('https://x.org/a/b.pth') == 'https://x.org/a/b.pth'
    assert cache_path(RESNET50_V1C) == torch_home / 'hub' / 'checkpoints' / \
        'resnet50_v1c-2cccc1ad.pth'
    assert cache_path('https://x.org/a/model.pth?raw=1') == torch_home / 'hub' / \
        'checkpoints' / 'model.pth'


@pytest.mark.parametrize('uri, close', [
    ('open-mmlab://resnet50_v1d', 'open-mmlab://resnet50_v1c'),
    ('open-mmlab://msra/hrnetv2_w81', 'open-mmlab://msra/hrnetv2_w18'),
    ('torchvision://resnet5', 'torchvision://resnet50')])
def test_unknown_name_lists_the_closest_known_ones(uri, close):
    with pytest.raises(KeyError) as err:
        resolve_url(uri)
    assert isinstance(err.value, UnknownCheckpointNameError)
    msg = str(err.value)
    assert msg.startswith(f'{uri} is not a known ') and 'closest known names: ' in msg
    assert close in msg.split('closest known names: ')[1].split(', ')


def test_download_goes_to_the_cache_once(tmp_path, torch_home):
    source = tmp_path / 'published.pth'
    torch.save({'w': torch.arange(3.)}, source)
    calls: list = []
    url = 'https://download.openmmlab.com/mmsegmentation/v0.5/x/model_20200605-2966598c.pth'
    path = fetch(url, download=copier(source, calls))
    assert path == torch_home / 'hub' / 'checkpoints' / 'model_20200605-2966598c.pth'
    assert path.read_bytes() == source.read_bytes() and calls == [url]
    # the second call finds the cached file: no download
    assert fetch(url, download=copier(source, calls)) == path and calls == [url]
    # open-mmlab:// names resolve first, then the same cache
    calls.clear()
    assert fetch('open-mmlab://resnet50_v1c', download=copier(source, calls)) == \
        cache_path(RESNET50_V1C) and calls == [RESNET50_V1C]


def assert_offline_message(err: WeightsNotAvailableError, uri: str, url: str,
                           path: Path) -> None:
    msg = str(err)
    assert isinstance(err, OSError)
    assert uri in msg and url in msg and f'put the file at {path} ' in msg
    assert '--cfg-options model.backbone.init_cfg=None' in msg and 'model.pretrained=None' in msg
    assert (err.uri, err.url, err.cache_path) == (uri, url, path)
    assert not path.exists() and not list(path.parent.glob('*.partial'))


def test_offline_error_names_uri_url_cache_path_and_scratch_option(torch_home):
    def offline(url, dst, progress):
        raise urllib.error.URLError('[Errno -3] Temporary failure in name resolution')
    with pytest.raises(WeightsNotAvailableError) as err:
        fetch('open-mmlab://resnet50_v1c', download=offline)
    assert_offline_message(err.value, 'open-mmlab://resnet50_v1c', RESNET50_V1C,
                           cache_path(RESNET50_V1C))
    assert 'URLError' in str(err.value) and 'name resolution' in str(err.value)


def test_real_download_path_with_the_network_unreachable(torch_home, monkeypatch):
    """torch hub's downloader itself, sent to a proxy that refuses: the same one error."""
    for var in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY'):
        monkeypatch.setenv(var, UNREACHABLE_PROXY)
    for var in ('no_proxy', 'NO_PROXY'):
        monkeypatch.setenv(var, '')
    # urlopen caches its opener (and the proxies it read) on first use: start from none.
    monkeypatch.setattr(urllib.request, '_opener', None)
    url = resolve_url('torchvision://resnet18')
    with pytest.raises(WeightsNotAvailableError) as err:
        fetch('torchvision://resnet18', progress=False)
    assert_offline_message(err.value, 'torchvision://resnet18', url, cache_path(url))
    assert 'URLError' in str(err.value) and 'refused' in str(err.value)  # by the proxy


def test_loaders_use_the_cache_and_the_safe_loader(torch_home):
    register_all_modules(init_default_scope=False)
    state = {'conv.weight': torch.randn(2, 3, 1, 1)}
    path = cache_path(resolve_url('torchvision://resnet18'))
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    for uri in ('torchvision://resnet18', 'modelzoo://resnet18',
                'https://download.pytorch.org/models/resnet18-f37072fd.pth'):
        loaded = CheckpointLoader.load_checkpoint(uri)
        assert torch.equal(loaded['conv.weight'], state['conv.weight'])
    assert load_uri('torchvision://resnet18')[1] == str(path)
    # mmcls:// keeps the backbone's keys without their prefix, as mmengine's loader does
    mmcls = cache_path(resolve_url('mmcls://resnet50'))
    torch.save({'state_dict': {'backbone.conv.weight': torch.ones(1), 'head.fc.w': torch.ones(1)}},
               mmcls)
    assert list(CheckpointLoader.load_checkpoint('mmcls://resnet50')['state_dict']) == [
        'conv.weight']

    class Evil:
        def __reduce__(self):
            return (os.system, ('true', ))
    torch.save({'state_dict': state, 'x': Evil()}, path)
    with pytest.raises(UnsafeCheckpointError, match='system'):
        CheckpointLoader.load_checkpoint('torchvision://resnet18')


def test_is_remote():
    assert hub.is_remote('open-mmlab://x') and hub.is_remote('https://a/b.pth')
    assert not hub.is_remote('checkpoints/x.pth') and not hub.is_remote('s3://bucket/x.pth')
