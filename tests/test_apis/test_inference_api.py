"""segdet.apis on the demo config: init_model, inference_model (path, array, list),
show_result, and demo/image_demo.py."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner import save_checkpoint

from segdet.apis import inference_model, init_model, show_result
from segdet.datasets.synthetic import write_shapes_tree

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'demo' / 'deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py'
SMALL = {'model.backbone.base_channels': 8, 'model.backbone.stem_channels': 8,
         'model.decode_head.in_channels': 64, 'model.decode_head.c1_in_channels': 8,
         'model.decode_head.channels': 8, 'model.decode_head.c1_channels': 4}


@pytest.fixture(scope='module')
def images(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp('shapes')
    write_shapes_tree(str(root), num_train=1, num_val=2, size=48, seed=0)
    return sorted((root / 'leftImg8bit' / 'val').rglob('*.png'))


@pytest.fixture(scope='module')
def model_and_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = init_model(DEMO, cfg_options=SMALL, fuse_conv_bn=False)  # a trainable model
    ckpt = tmp_path_factory.mktemp('ckpt') / 'small.pth'
    meta = dict(dataset_meta=dict(classes=('bg', 'a', 'b', 'c'),
                                  palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]))
    save_checkpoint(dict(state_dict=model.state_dict(), meta=meta), str(ckpt))
    return model, ckpt


def test_init_model_loads_weights_and_meta(model_and_ckpt) -> None:
    model, ckpt = model_and_ckpt
    loaded = init_model(DEMO, str(ckpt), cfg_options=SMALL, fuse_conv_bn=False)
    assert not loaded.training
    assert loaded.dataset_meta['classes'] == ('bg', 'a', 'b', 'c')
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    # Without a checkpoint the classes come from the test data set.
    assert init_model(DEMO, cfg_options=SMALL).dataset_meta['classes'] == (
        'background', 'circle', 'rectangle', 'triangle')


def test_path_array_and_list_give_the_same_prediction(model_and_ckpt, images) -> None:
    model, _ = model_and_ckpt
    from_path = inference_model(model, str(images[0]))
    from_array = inference_model(model, cv2.imread(str(images[0])))
    assert from_path.pred_sem_seg.data.shape == (1, 48, 48)
    assert from_path.seg_logits.data.shape == (4, 48, 48)
    assert torch.equal(from_path.pred_sem_seg.data, from_array.pred_sem_seg.data)
    batch = inference_model(model, [str(p) for p in images])
    assert isinstance(batch, list) and len(batch) == 2
    assert torch.allclose(batch[0].seg_logits.data, from_path.seg_logits.data, atol=1e-5)
    assert torch.equal(from_path.pred_sem_seg.data[0],
                       from_path.seg_logits.data.argmax(0))


def test_bad_inputs_are_named(model_and_ckpt, tmp_path) -> None:
    model, _ = model_and_ckpt
    with pytest.raises(FileNotFoundError, match='image file not found: .*nope.png'):
        inference_model(model, str(tmp_path / 'nope.png'))
    with pytest.raises(ValueError, match=r'\(H, W, 3\) BGR'):
        inference_model(model, np.zeros((8, 8), np.uint8))
    with pytest.raises(FileNotFoundError, match='config file not found'):
        init_model(tmp_path / 'missing.py')


def test_show_result_paints_the_palette(model_and_ckpt, images, tmp_path) -> None:
    model, _ = model_and_ckpt
    result = inference_model(model, str(images[0]))
    out = tmp_path / 'o.png'
    overlay = show_result(model, str(images[0]), result, out_file=out, opacity=1.0)
    pred = result.pred_sem_seg.data[0].numpy()
    palette = model.dataset_meta['palette']
    expected = np.array([palette[c][::-1] for c in pred.ravel()], np.uint8).reshape(48, 48, 3)
    assert np.array_equal(overlay, expected)  # opacity 1: pure label colours (BGR)
    assert np.array_equal(cv2.imread(str(out)), overlay)


def test_image_demo_writes_png(model_and_ckpt, images, tmp_path) -> None:
    _, ckpt = model_and_ckpt
    out = tmp_path / 'demo.png'
    # image_demo.py has no --cfg-options: a config that inherits the demo shrinks it.
    config = tmp_path / 'small.py'
    config.write_text(f'_base_ = [{str(DEMO)!r}]\nmodel = dict(backbone=dict(base_channels=8, '
                      'stem_channels=8), decode_head=dict(in_channels=64, c1_in_channels=8, '
                      'channels=8, c1_channels=4))\n')
    done = subprocess.run([sys.executable, str(REPO / 'demo' / 'image_demo.py'), str(images[0]),
                           str(config), str(ckpt), '--out-file', str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    written = cv2.imread(str(out))
    assert written.shape == (48, 48, 3)
    assert not np.array_equal(written, cv2.imread(str(images[0])))  # labels were drawn
    assert 'classes predicted:' in done.stdout


class _Payload:
    """Unpickling this would create a directory: init_model must refuse before that."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.makedirs, (self.marker,))


def test_init_model_refuses_a_malicious_checkpoint(tmp_path) -> None:
    from segdet.engine import UnsafeCheckpointError
    marker = tmp_path / 'payload_ran'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': {'x': _Payload(str(marker))}}, evil)
    with pytest.raises(UnsafeCheckpointError, match='makedirs'):
        init_model(DEMO, str(evil), cfg_options=SMALL)
    assert not marker.exists()


def test_channels_last_model_predicts_as_nchw(model_and_ckpt, images) -> None:
    # With the separable ASPP at DeepLabV3+'s dilations 12, 24 and 36 (the demo's are 2-4):
    # in channels_last on a CPU they run as space-to-batch convolutions.
    from segdet.ops.space_to_batch import SpaceToBatchConv2d
    _, ckpt = model_and_ckpt
    options = {**SMALL, 'model.decode_head.dilations': (1, 12, 24, 36)}
    nhwc = init_model(DEMO, str(ckpt), cfg_options=options, channels_last=True)
    nchw = init_model(DEMO, str(ckpt), cfg_options=options, channels_last=False)
    assert nhwc.channels_last is True and nchw.channels_last is False
    converted = [n for n, m in nhwc.named_modules() if isinstance(m, SpaceToBatchConv2d)]
    assert len(converted) == 3 and all('aspp' in n for n in converted), converted
    dense = [[m for m in model.modules() if isinstance(m, torch.nn.Conv2d)
              and m.kernel_size == (3, 3) and m.groups == 1] for model in (nhwc, nchw)]
    assert all(not m.weight.is_contiguous() for m in dense[0])  # NHWC strides
    assert all(m.weight.is_contiguous() for m in dense[1])
    for got, expected in zip(inference_model(nhwc, [str(p) for p in images]),
                             inference_model(nchw, [str(p) for p in images])):
        torch.testing.assert_close(got.seg_logits.data, expected.seg_logits.data,
                                   atol=1e-4, rtol=1e-4)
        assert torch.equal(got.pred_sem_seg.data, expected.pred_sem_seg.data)


def test_channels_last_default_follows_the_cpu(monkeypatch) -> None:
    for capability, expected in (('AVX512', True), ('AVX2', False)):
        monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability', lambda c=capability: c)
        assert init_model(DEMO, cfg_options=SMALL).channels_last is (
            expected and not torch.cuda.is_available()), capability
