"""The five algorithms' real models, built from their Cityscapes configs (SyncBN -> BN), train
and predict on CPU: loss keys and values (recomputed by hand from the logits each head
produced inside ``loss()``), one SGD step lowering the loss, prediction shapes, and slide
inference equal to averaging the whole-inference logits of each window.

Inputs are 64x64 (96x96 for slide); the file takes about 20 s on two busy CPU cores, most of
it building the R-50 models (about 50M parameters each).
"""
from pathlib import Path
from typing import Optional

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from torch import Tensor, nn

from segdet.registry import MODELS
from segdet.structures import DataSample
from segdet.utils import revert_sync_bn_cfg

REPO = Path(__file__).resolve().parents[2]
CONFIGS = {
    'fcn': 'fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'pspnet': 'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'deeplabv3': 'deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'deeplabv3plus': 'deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    'ocrnet': 'ocrnet/ocrnet_hr18_4xb2-40k_cityscapes-512x1024.py',
}
SLIDE_CONFIG = 'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-769x769.py'
NUM_CLASSES = 19
IGNORE = 255
SIZE = 64


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run these small convolutions on one thread.

    On a busy 2-core machine (pytest-xdist workers, other jobs) OpenMP's thread barriers make
    each tiny op wait for a descheduled sibling: HRNet's forward took 17 s with 2 threads and
    0.2 s with 1. The previous setting is restored afterwards.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build_model(config: str, test_cfg: Optional[dict] = None) -> nn.Module:
    """The config's model with BN, no dropout and training batches padded to 64x64."""
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    model_cfg = revert_sync_bn_cfg(cfg.model)
    model_cfg.data_preprocessor.size = (SIZE, SIZE)
    heads = model_cfg.decode_head if isinstance(model_cfg.decode_head, list) else [
        model_cfg.decode_head]
    for head in heads + ([model_cfg.auxiliary_head] if model_cfg.get('auxiliary_head') else []):
        head.dropout_ratio = 0  # deterministic forward in train mode
    if test_cfg is not None:
        model_cfg.test_cfg = test_cfg
    init_default_scope('segdet')
    torch.manual_seed(0)
    # PyTorch's default initialisation: init_weights() would only add time and log lines.
    return MODELS.build(model_cfg)


def make_batch(n: int, size: int, seed: int = 0) -> dict:
    """``n`` random uint8 images with random labels; the top 4 rows are ignored (255)."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g))
        label = torch.randint(0, NUM_CLASSES, (1, size, size), generator=g)
        label[:, :4] = IGNORE
        sample = DataSample(metainfo=dict(ori_shape=(size, size), img_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def expected_ce(logits: Tensor, labels: Tensor, align_corners: bool, weight: float) -> Tensor:
    """mmseg's CrossEntropyLoss (mean over all pixels, ignored ones count 0) after resizing
    the (N, C, h, w) logits to the (N, H, W) labels."""
    logits = F.interpolate(logits, size=labels.shape[-2:], mode='bilinear',
                           align_corners=align_corners)
    per_pixel = F.cross_entropy(logits, labels, ignore_index=IGNORE, reduction='none')
    return weight * per_pixel.sum() / labels.numel()


def expected_acc(logits: Tensor, labels: Tensor, align_corners: bool) -> Tensor:
    """Percentage of non-ignored pixels whose arg-max class is right."""
    logits = F.interpolate(logits, size=labels.shape[-2:], mode='bilinear',
                           align_corners=align_corners)
    valid = labels != IGNORE
    return (logits.argmax(1)[valid] == labels[valid]).float().mean() * 100


def record_head_outputs(model: nn.Module, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Make every head remember the logits of its first ``forward`` call.

    Returns:
        Loss prefix ('decode', 'aux', 'decode_0', ...) -> (head, list that receives the logits).
    """
    if isinstance(model.decode_head, nn.ModuleList):
        heads = {f'decode_{i}': h for i, h in enumerate(model.decode_head)}
    else:
        heads = {'decode': model.decode_head, 'aux': model.auxiliary_head}
    records = {}
    for prefix, head in heads.items():
        seen: list[Tensor] = []

        def forward(*args, _inner=head.forward, _seen=seen, **kwargs):
            out = _inner(*args, **kwargs)
            _seen.append(out.detach())
            return out

        monkeypatch.setattr(head, 'forward', forward)
        records[prefix] = (head, seen)
    return records


def total_loss(losses: dict) -> Tensor:
    return sum(v for k, v in losses.items() if 'loss' in k)


@pytest.mark.parametrize('algo', list(CONFIGS))
def test_loss_step_and_predict(algo, monkeypatch):
    model = build_model(CONFIGS[algo])
    batch = make_batch(2, SIZE)
    model.train()
    data = model.data_preprocessor(batch, training=True)
    inputs, samples = data['inputs'], data['data_samples']
    assert inputs.shape == (2, 3, SIZE, SIZE) and inputs.dtype == torch.float32
    labels = torch.cat([s.gt_sem_seg.data for s in samples])

    records = record_head_outputs(model, monkeypatch)
    losses = model.loss(inputs, samples)
    prefixes = ['decode_0', 'decode_1'] if algo == 'ocrnet' else ['decode', 'aux']
    assert set(losses) == {f'{p}.{k}' for p in prefixes for k in ('loss_ce', 'acc_seg')}
    for key, value in losses.items():
        assert torch.isfinite(value).all(), f'{algo}: {key}={value}'

    # the same numbers by hand from each head's logits: cross-entropy after a bilinear resize
    # to the label size, times the loss weight; accuracy over the non-ignored pixels
    weights = {'decode': 1.0, 'aux': 0.4, 'decode_0': 0.4, 'decode_1': 1.0}
    for prefix, (head, seen) in records.items():
        logits = seen[0]
        assert logits.shape[:2] == (2, NUM_CLASSES) and logits.shape[2] < SIZE
        torch.testing.assert_close(
            losses[f'{prefix}.loss_ce'],
            expected_ce(logits, labels, head.align_corners, weights[prefix]),
            rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(
            losses[f'{prefix}.acc_seg'].reshape(()),
            expected_acc(logits, labels, head.align_corners), rtol=1e-4, atol=1e-3)
    monkeypatch.undo()

    # one SGD step (the configs' lr) on this batch lowers the loss on it
    before = total_loss(losses)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = total_loss(model.loss(inputs, samples))
    assert after < before, f'{algo}: loss {before.item():.4f} -> {after.item():.4f}'

    model.eval()
    data = model.data_preprocessor(batch, training=False)
    with torch.no_grad():
        results = model.predict(data['inputs'], data['data_samples'])
    assert len(results) == 2
    for result, sample in zip(results, batch['data_samples']):
        assert result is not sample
        assert result.seg_logits.data.shape == (NUM_CLASSES, SIZE, SIZE)
        assert result.pred_sem_seg.data.shape == (1, SIZE, SIZE)
        assert torch.equal(result.pred_sem_seg.data[0], result.seg_logits.data.argmax(0))
        assert torch.equal(result.gt_sem_seg.data, sample.gt_sem_seg.data)


def test_slide_config_predict_averages_windows():
    test_cfg = dict(mode='slide', crop_size=(64, 64), stride=(32, 32))
    model = build_model(SLIDE_CONFIG, test_cfg).eval()
    assert model.decode_head.align_corners and model.auxiliary_head.align_corners
    batch = make_batch(1, 96, seed=1)
    data = model.data_preprocessor(batch, training=False)
    inputs = data['inputs']
    with torch.no_grad():
        results = model.predict(inputs, data['data_samples'])
        # 96 = 64 + 32: windows start at 0 and 32 on each axis, the middle is covered 4 times
        expected = torch.zeros(1, NUM_CLASSES, 96, 96)
        count = torch.zeros(1, 1, 96, 96)
        meta = dict(data['data_samples'][0].metainfo)
        for y in (0, 32):
            for x in (0, 32):
                crop = inputs[:, :, y:y + 64, x:x + 64]
                crop_meta = dict(meta, img_shape=(64, 64), pad_shape=(64, 64))
                expected[:, :, y:y + 64, x:x + 64] += model.encode_decode(crop, [crop_meta])
                count[:, :, y:y + 64, x:x + 64] += 1
    assert count.min() == 1 and count.max() == 4
    result = results[0]
    assert result.seg_logits.data.shape == (NUM_CLASSES, 96, 96)
    assert result.pred_sem_seg.data.shape == (1, 96, 96)
    torch.testing.assert_close(result.seg_logits.data, (expected / count)[0],
                               rtol=1e-4, atol=1e-5)
