"""``tools/test.py`` and ``tools/train.py`` with published and pre-trained weights: a checkpoint
URL comes from the torch hub cache (or one download into it); a checkpoint of another model
stops the test before any image is evaluated unless ``--allow-partial-checkpoint``; and an
offline ``tools/train.py`` on a model-zoo config fails in seconds, before any data loader,
naming the URI, the URL, the cache path and the ``--cfg-options`` that train from scratch.
No test reaches the network (temporary ``TORCH_HOME``, a copying downloader, a refusing proxy).
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from segdet.apis import init_model
from segdet.engine import CheckpointMismatchError, cache_path, hub
from tool_run_helpers import (DEMO_CONFIG, REPO, cli_options, eval_options, tool_env,
                              unique_config)

DET_DEMO = REPO / 'configs' / 'demo' / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'
URL = 'https://download.openmmlab.com/mmsegmentation/v0.5/demo/demo_20200605-2966598c.pth'
UNREACHABLE = 'http://127.0.0.1:9'  # nothing listens on the discard port


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    return home


@pytest.fixture(scope='module')
def det_checkpoint(tmp_path_factory) -> Path:
    """A small Mask R-CNN's checkpoint (the demo detector with narrow layers)."""
    torch.manual_seed(0)
    model = init_model(DET_DEMO, cfg_options={
        'model.backbone.base_channels': 16, 'model.neck.in_channels': (16, 32, 64, 128),
        'model.roi_head.bbox_head.fc_out_channels': 32}, fuse_conv_bn=False)
    path = tmp_path_factory.mktemp('det_ckpt') / 'mask_rcnn_small.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def test_checkpoint_url_comes_from_the_cache(tmp_path, torch_home, monkeypatch, tool_argv,
                                             test_tool, det_checkpoint) -> None:
    calls: list = []

    def copy(url: str, dst: Path, progress: bool) -> None:
        calls.append(url)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(det_checkpoint, dst)
    monkeypatch.setattr(hub, '_download', copy)
    args = tool_argv(test_tool, str(DEMO_CONFIG), URL, '--work-dir', str(tmp_path / 'w'),
                     entry='parse_args')
    cfg = test_tool.build_cfg(args)
    assert cfg.load_from == str(cache_path(URL)) == str(
        torch_home / 'hub' / 'checkpoints' / 'demo_20200605-2966598c.pth')
    assert calls == [URL]
    assert test_tool.build_cfg(args).load_from == cfg.load_from and calls == [URL]  # cached
    assert cfg.custom_hooks[-1] == dict(type='CheckpointFitHook')
    args = tool_argv(test_tool, str(DEMO_CONFIG), URL, '--work-dir', str(tmp_path / 'w'),
                     '--allow-partial-checkpoint', entry='parse_args')
    assert 'CheckpointFitHook' not in [h['type'] for h in test_tool.build_cfg(args).custom_hooks]


def test_a_checkpoint_of_another_model_is_not_evaluated(shapes_root, det_checkpoint, tmp_path,
                                                        tool_argv, test_tool) -> None:
    # Before: a long list of mismatches, then an evaluation of random weights and exit 0.
    options = ['--cfg-options', *cli_options(eval_options(str(shapes_root)))]
    with pytest.raises(CheckpointMismatchError) as err:
        tool_argv(test_tool, str(unique_config(tmp_path, 'refused')), str(det_checkpoint),
                  '--work-dir', str(tmp_path / 'refused'), *options)
    msg = str(err.value)
    assert msg.startswith(f'{det_checkpoint} does not fit the model EncoderDecoder: ')
    assert 'missing from the checkpoint (' in msg and 'decode_head.' in msg
    assert 'checkpoint tensors the model does not have (' in msg
    assert ' of another shape (backbone.conv1.weight: checkpoint (32, 3, 7, 7), model ' in msg
    assert '--allow-partial-checkpoint' in msg
    assert not list((tmp_path / 'refused').rglob('*.json'))  # no metrics written
    # on purpose: evaluated
    tool_argv(test_tool, str(unique_config(tmp_path, 'allowed')), str(det_checkpoint),
              '--work-dir', str(tmp_path / 'allowed'), '--allow-partial-checkpoint', *options)
    assert list((tmp_path / 'allowed').rglob('*.json'))


@pytest.mark.parametrize('config, keys', [
    ('fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py', ['model.pretrained']),
    ('faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py',
     ['model.backbone.init_cfg', 'model.roi_head.shared_head.init_cfg'])])
def test_train_offline_fails_fast_naming_what_to_do(config, keys, tmp_path) -> None:
    home = tmp_path / 'empty_torch_home'
    env = dict(tool_env(), TORCH_HOME=str(home), http_proxy=UNREACHABLE,
               https_proxy=UNREACHABLE, HTTP_PROXY=UNREACHABLE, HTTPS_PROXY=UNREACHABLE,
               no_proxy='', NO_PROXY='')
    work = tmp_path / 'work'
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(REPO / 'tools' / 'train.py'),
                           str(REPO / 'configs' / config), '--work-dir', str(work)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - start
    assert done.returncode != 0
    err = done.stderr
    assert 'WeightsNotAvailableError' in err, err[-3000:]
    from mmengine.config import Config
    from segdet.engine import find_pretrained, resolve_url
    uri = find_pretrained(Config.fromfile(str(REPO / 'configs' / config)).model)[0].checkpoint
    url = resolve_url(uri)
    path = home / 'hub' / 'checkpoints' / os.path.basename(url)
    assert f'{keys[0]} = {uri!r}' in err and url in err and f'put the file at {path} ' in err
    assert 'refused' in err  # the proxy refused: the network was never reached
    assert 'pass --cfg-options ' + ' '.join(f'{k}=None' for k in keys) in err
    # before the Runner: no data loader, no log dir in the work dir
    assert not work.exists() or not any(work.iterdir())
    assert took < 120, f'took {took:.0f} s'
