"""SegTTAModel on a tiny segmentor and on a stand-in whose logits are constant per view: one
unflipped scale equals plain inference, flipping commutes with prediction, every view counts
once, and slide inference works inside TTA."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from torch import nn

from segdet.registry import MODELS
from segdet.structures import DataSample

RATIOS = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
FLIPS = [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')]
SLIDE = dict(mode='slide', crop_size=(24, 24), stride=(16, 16))


class TwoMaps(nn.Module):
    """Stride-2 and stride-4 feature maps (4 and 8 channels)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.b = nn.Conv2d(4, 8, 3, stride=2, padding=1)

    def forward(self, x):
        a = self.a(x)
        return [a, self.b(a)]


def segmentor_cfg(test_cfg: dict = None) -> dict:
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[120.0] * 3, std=[60.0] * 3,
                               bgr_to_rgb=True),
        backbone=dict(type=TwoMaps),
        decode_head=dict(type='FCNHead', in_channels=8, in_index=1, channels=8, num_convs=1,
                         num_classes=4, dropout_ratio=0.0, align_corners=False),
        test_cfg=test_cfg or dict(mode='whole'))


def build_tta(test_cfg: dict = None):
    """A SegTTAModel around a tiny random segmentor (non-trivial, not flip-symmetric)."""
    init_default_scope('segdet')
    torch.manual_seed(0)
    tta = MODELS.build(dict(type='SegTTAModel', module=segmentor_cfg(test_cfg)))
    tta.module.init_weights()
    return tta.eval()


def tta_pipeline(ratios=RATIOS, flips=FLIPS) -> list:
    return [dict(type='LoadImageFromFile'),
            dict(type='TestTimeAug', transforms=[
                [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in ratios],
                flips, [dict(type='PackSegInputs')]])]


def load(paths, pipeline) -> dict:
    """A batch of ``paths`` through ``pipeline``, collated as the data loader does."""
    init_default_scope('segdet')
    compose = Compose(pipeline)
    return pseudo_collate([compose(dict(img_path=str(p))) for p in paths])


def plain(model, paths) -> list[DataSample]:
    data = load(paths, [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')])
    with torch.no_grad():
        return model.test_step(data)


def tta(model, paths, **pipeline_kwargs) -> list[DataSample]:
    with torch.no_grad():
        return model.test_step(load(paths, tta_pipeline(**pipeline_kwargs)))


@pytest.fixture(scope='module')
def images(tmp_path_factory) -> tuple[list[Path], list[Path]]:
    """Two 64x64 noise images (one 64x48) and their horizontally flipped copies on disk."""
    root = tmp_path_factory.mktemp('seg_tta')
    rng = np.random.default_rng(0)
    paths, flipped = [], []
    for i, (h, w) in enumerate([(64, 64), (64, 48)]):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        paths.append(root / f'img{i}.png')
        flipped.append(root / f'img{i}_flipped.png')
        cv2.imwrite(str(paths[-1]), img)
        cv2.imwrite(str(flipped[-1]), np.ascontiguousarray(img[:, ::-1]))
    return paths, flipped


@pytest.mark.parametrize('test_cfg', [None, SLIDE], ids=['whole', 'slide'])
def test_one_unflipped_scale_equals_plain_inference(images, test_cfg):
    model = build_tta(test_cfg)
    paths, _ = images
    ref = plain(model.module, paths)
    got = tta(model, paths, ratios=[1.0], flips=FLIPS[:1])
    for r, g in zip(ref, got):
        assert torch.equal(g.pred_sem_seg.data, r.pred_sem_seg.data)
        torch.testing.assert_close(g.seg_logits.data, r.seg_logits.data.softmax(0))
        assert g.img_path == r.img_path and g.ori_shape == r.ori_shape
    assert len(torch.unique(torch.cat([g.pred_sem_seg.data.flatten() for g in got]))) > 1


@pytest.mark.parametrize('test_cfg', [None, SLIDE], ids=['whole', 'slide'])
def test_flipped_view_equals_unflipped_prediction_of_the_flipped_image(images, test_cfg):
    model = build_tta(test_cfg)
    paths, flipped = images
    got = tta(model, paths, ratios=[1.0], flips=FLIPS[1:])
    ref = plain(model.module, flipped)
    for r, g in zip(ref, got):
        expected = r.seg_logits.data.flip(-1).softmax(0)
        torch.testing.assert_close(g.seg_logits.data, expected, rtol=0, atol=0)
        assert torch.equal(g.pred_sem_seg.data, r.pred_sem_seg.data.flip(-1))
    # Not vacuous: the network is not flip-symmetric.
    unflipped = plain(model.module, paths)
    assert not torch.allclose(unflipped[0].seg_logits.data, ref[0].seg_logits.data.flip(-1))


def test_slide_mode_multi_scale_flip_is_the_mean_of_its_views(images):
    # Each view alone (slide inference over 24x24 windows at 32..96 pixels), then all together.
    model = build_tta(SLIDE)
    paths, _ = images
    ratios = [0.5, 1.0, 1.5]
    singles = [tta(model, paths, ratios=[r], flips=[f])[0].seg_logits.data
               for r in ratios for f in FLIPS]
    merged = tta(model, paths, ratios=ratios)
    torch.testing.assert_close(merged[0].seg_logits.data, torch.stack(singles).mean(0))
    assert merged[0].seg_logits.shape == (64, 64) and merged[1].seg_logits.shape == (64, 48)
    assert torch.equal(merged[0].pred_sem_seg.data,
                       merged[0].seg_logits.data.argmax(0, keepdim=True))


class ConstantPerView(nn.Module):
    """Stands in for a segmentor: for each view, logits that are constant over the image and
    depend on the image, the scale factor and the flip; at the original size."""

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.channels = channels
        self.decode_threshold = 0.3

    @staticmethod
    def view_logits(index: int, scale: float, flip: bool, channels: int) -> torch.Tensor:
        values = torch.tensor([scale, 2.0 * flip, 0.5 * index])[:channels]
        return values if channels > 1 else torch.sigmoid(values - 1.0)

    def test_step(self, data: dict) -> list[DataSample]:
        out = []
        for sample in data['data_samples']:
            meta = sample.metainfo
            index = int(Path(meta['img_path']).stem[3])
            logits = self.view_logits(index, meta['scale_factor'][0], meta['flip'], self.channels)
            h, w = meta['ori_shape']
            new = sample.new()
            new.seg_logits = PixelData(data=logits.view(-1, 1, 1).expand(-1, h, w).clone())
            out.append(new)
        return out


def test_every_view_counts_once(images):
    init_default_scope('segdet')
    paths, _ = images
    for channels in (3, 1):
        model = MODELS.build(dict(type='SegTTAModel', module=ConstantPerView(channels)))
        got = tta(model, paths)
        for index, sample in enumerate(got):
            views = [ConstantPerView.view_logits(index, r, f, channels)
                     for r in RATIOS for f in (False, True)]
            probs = torch.stack([v.softmax(0) if channels > 1 else v for v in views]).mean(0)
            h, w = sample.ori_shape
            torch.testing.assert_close(sample.seg_logits.data,
                                       probs.view(-1, 1, 1).expand(-1, h, w))
            expected = probs.argmax(0) if channels > 1 else (probs > 0.3).long()[0]
            assert torch.equal(sample.pred_sem_seg.data, torch.full((1, h, w), int(expected)))
            assert sample.img_path == str(paths[index])
            assert 'scale_factor' not in sample.metainfo and 'flip' not in sample.metainfo
