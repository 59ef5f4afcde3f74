"""``init_model`` and ``demo/image_demo.py`` with published checkpoints: a URL is fetched once
into the torch hub cache (a copying downloader stands in for the network), and a checkpoint of
another model (a segmentation checkpoint for the Mask R-CNN config) is an error unless
partial loading is asked for."""
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segdet.apis import init_model
from segdet.engine import CheckpointMismatchError, cache_path, hub

REPO = Path(__file__).resolve().parents[2]
SEG_DEMO = REPO / 'configs' / 'demo' / 'deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py'
DET_DEMO = REPO / 'configs' / 'demo' / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'
SMALL = {'model.backbone.base_channels': 8, 'model.backbone.stem_channels': 8,
         'model.decode_head.in_channels': 64, 'model.decode_head.c1_in_channels': 8,
         'model.decode_head.channels': 8, 'model.decode_head.c1_channels': 4}
URL = 'https://download.openmmlab.com/mmsegmentation/v0.5/x/small_20200605-2966598c.pth'


@pytest.fixture(scope='module')
def seg_checkpoint(tmp_path_factory) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(0)
    model = init_model(SEG_DEMO, cfg_options=SMALL, fuse_conv_bn=False)
    path = tmp_path_factory.mktemp('seg_ckpt') / 'small.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return model, path


def test_init_model_from_a_url(seg_checkpoint, tmp_path, monkeypatch) -> None:
    model, source = seg_checkpoint
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    calls: list = []

    def copy(url: str, dst: Path, progress: bool) -> None:
        calls.append(url)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, dst)
    monkeypatch.setattr(hub, '_download', copy)
    for _ in range(2):
        loaded = init_model(SEG_DEMO, URL, cfg_options=SMALL, fuse_conv_bn=False)
        for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
            assert torch.equal(a, b), name
    assert calls == [URL]  # the second call used the cache
    assert cache_path(URL) == tmp_path / 'torch_home' / 'hub' / 'checkpoints' / \
        'small_20200605-2966598c.pth'


def test_init_model_refuses_a_checkpoint_of_another_model(seg_checkpoint) -> None:
    _, path = seg_checkpoint
    with pytest.raises(CheckpointMismatchError) as err:
        init_model(DET_DEMO, str(path))
    msg = str(err.value)
    assert msg.startswith(f'{path} does not fit the model MaskRCNN: ')
    assert 'missing from the checkpoint (' in msg and 'allow_partial=True' in msg
    model = init_model(DET_DEMO, str(path), allow_partial=True)  # on purpose
    assert type(model).__name__ == 'MaskRCNN'


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / 'demo' / 'image_demo.py'), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_image_demo_refuses_a_checkpoint_of_another_model(seg_checkpoint, tmp_path) -> None:
    _, path = seg_checkpoint
    image = tmp_path / 'img.png'
    cv2.imwrite(str(image), (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8))
    out = tmp_path / 'out.png'
    # Before: mismatches printed, then random weights drawn and exit 0.
    done = run_demo(str(image), str(DET_DEMO), str(path), '--out-file', str(out))
    assert done.returncode != 0 and not out.exists()
    assert 'CheckpointMismatchError' in done.stderr
    assert f'{path} does not fit the model MaskRCNN' in done.stderr
    done = run_demo(str(image), str(DET_DEMO), str(path), '--out-file', str(out),
                    '--allow-partial-checkpoint')
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.is_file()
