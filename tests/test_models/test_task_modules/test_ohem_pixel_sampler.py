"""OHEMPixelSampler (segdet/models/task_modules/samplers/ohem_pixel_sampler.py) on hand-made
logits, inside a decode head's loss, and in the BiSeNetV2 OHEM config."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from segmentation_fixtures import make_samples

from segdet.models.task_modules import OHEMPixelSampler, build_pixel_sampler
from segdet.models.task_modules.samplers import ohem_weights_by_probability
from segdet.registry import MODELS, TASK_UTILS
from segdet.utils import revert_sync_bn_cfg

REPO = Path(__file__).resolve().parents[3]
IGNORE = 255
#: Probability of the true class (0) of each pixel of a 2x4 image; the last one is ignored
#: (its tiny probability would make it the hardest pixel).
PROBS = torch.tensor([[0.9, 0.2, 0.6, 0.95],
                      [0.1, 0.8, 0.3, 0.01]])
LABELS = torch.tensor([[[0, 0, 0, 0],
                        [0, 0, 0, IGNORE]]])


def logits_of(probs: torch.Tensor) -> torch.Tensor:
    """(N, 2, H, W) logits whose softmax gives class 0 the probability ``probs`` (N, H, W)."""
    return torch.stack([torch.zeros_like(probs), torch.log((1 - probs) / probs)], dim=1)


def head(**sampler) -> torch.nn.Module:
    """An FCN head that only classifies (2 classes); the sampler config is ``sampler``."""
    return MODELS.build(dict(type='FCNHead', in_channels=2, channels=2, num_convs=0,
                             concat_input=False, dropout_ratio=0, num_classes=2,
                             sampler=dict(type='OHEMPixelSampler', **sampler)))


def kept(weights: torch.Tensor) -> set:
    return {tuple(i) for i in weights[0].nonzero().tolist()}


@pytest.mark.parametrize('min_kept,expected', [
    # 4 pixels lie below 0.7: all of them, only them
    (2, {(0, 1), (0, 2), (1, 0), (1, 2)}),
    # too few below 0.7: the threshold rises to the 5th smallest probability (0.8)
    (5, {(0, 1), (0, 2), (1, 0), (1, 2), (1, 1)}),
    # more than there are: every valid pixel, never the ignored one
    (100, {(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2)}),
])
def test_threshold_keeps_hard_pixels_and_at_least_min_kept(min_kept, expected):
    sampler = head(thresh=0.7, min_kept=min_kept).sampler
    weights = sampler.sample(logits_of(PROBS[None]), LABELS)
    assert weights.shape == (1, 2, 4) and weights.dtype == torch.float32
    assert kept(weights) == expected
    assert set(weights.unique().tolist()) <= {0.0, 1.0}
    # mmseg's (N, 1, H, W) labels give the same weights
    torch.testing.assert_close(sampler.sample(logits_of(PROBS[None]), LABELS[:, None]), weights)


def test_without_threshold_the_highest_losses_are_kept():
    weights = head(min_kept=3).sampler.sample(logits_of(PROBS[None]), LABELS)
    assert kept(weights) == {(1, 0), (0, 1), (1, 2)}  # probabilities 0.1, 0.2, 0.3


def test_min_kept_counts_per_image():
    probs = torch.stack([PROBS, PROBS])
    weights = head(thresh=0.05, min_kept=5).sampler.sample(logits_of(probs), LABELS.repeat(2, 1, 1))
    assert weights.sum() == 10 and torch.equal(weights[0], weights[1])


def test_ties_keep_at_least_min_kept():
    # All probabilities equal (e.g. uniform logits): mmseg's strict threshold keeps none.
    valid = torch.ones(1, 2, 4, dtype=torch.bool)
    weights = ohem_weights_by_probability(torch.full((1, 2, 4), 0.5), valid, 0.3, 3)
    assert weights.sum() == 8


@pytest.mark.parametrize('sampler,kept_probs', [
    (dict(thresh=0.7, min_kept=2), (0.2, 0.6, 0.1, 0.3)),
    (dict(min_kept=3), (0.1, 0.2, 0.3)),
])
def test_head_loss_is_the_weighted_mean(sampler, kept_probs):
    """mmseg's mean: the kept pixels' losses summed, over all 8 pixels (ignored included)."""
    losses = head(**sampler).loss_by_feat(logits_of(PROBS[None]), make_samples(LABELS))
    expected = -sum(math.log(p) for p in kept_probs) / 8
    assert math.isclose(losses['loss_ce'].item(), expected, rel_tol=1e-5)


def test_registry_and_builder():
    context = head(thresh=0.7, min_kept=2)
    sampler = build_pixel_sampler(dict(type='OHEMPixelSampler', thresh=0.5, min_kept=4),
                                  context=context)
    assert isinstance(sampler, OHEMPixelSampler) and sampler.context is context
    assert TASK_UTILS.get('OHEMPixelSampler') is OHEMPixelSampler
    assert sampler.min_kept == 4 and sampler.thresh == 0.5


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(min_kept=1), ValueError, 'min_kept must be > 1, got 1'),
    (dict(min_kept=2.5), TypeError, 'min_kept must be an int, got float 2.5'),
    (dict(thresh=1.5), ValueError, r'thresh is a probability threshold in \(0, 1\], got 1.5'),
    (dict(thresh='0.7'), TypeError, 'thresh must be None or a float'),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        head(**kwargs)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match='thresh needs softmax logits'):
        MODELS.build(dict(type='FCNHead', in_channels=2, channels=2, num_convs=0,
                          num_classes=2, out_channels=1, threshold=0.5,
                          loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True),
                          sampler=dict(type='OHEMPixelSampler', thresh=0.7)))
    with pytest.raises(ValueError, match=r'same size, got \(1, 2, 2, 4\) and \(1, 2, 3\)'):
        head(min_kept=2).sampler.sample(logits_of(PROBS[None]), torch.zeros(1, 2, 3).long())
    with pytest.raises(TypeError, match='sampler must be a config dict'):
        build_pixel_sampler('OHEMPixelSampler')


def test_bisenetv2_ohem_config_builds_with_the_sampler_in_every_head():
    cfg = Config.fromfile(
        str(REPO / 'configs/bisenetv2/bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024.py'))
    init_default_scope('segdet')
    with torch.device('meta'):
        model = MODELS.build(revert_sync_bn_cfg(cfg.model))
    heads = [model.decode_head, *model.auxiliary_head]
    assert len(heads) == 5
    for h in heads:
        assert isinstance(h.sampler, OHEMPixelSampler) and h.sampler.context is h
        assert (h.sampler.thresh, h.sampler.min_kept) == (0.7, 10000)
