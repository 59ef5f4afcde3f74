"""Tests of segdet/models/backbones/bisenetv2.py and bisenetv2_modules.py."""
import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import assert_loss_falls, make_samples
from torch import nn

from segdet.models.backbones import BiSeNetV2
from segdet.models.backbones.bisenetv2_modules import (BGALayer, CEBlock, GELayer, StemBlock,
                                                       guided_aggregation)
from segdet.registry import MODELS

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

#: Reduced widths: detail 8, 8, 16; semantic 4, 8, 16, 16; aggregation 16.
TINY = dict(detail_channels=(8, 8, 16), semantic_channels=(4, 8, 16, 16),
            semantic_expansion_ratio=2, bga_channels=16)


@pytest.mark.parametrize('out_indices', [(0, 1, 2, 3, 4), (0, ), (4, 2)])
def test_channels_and_strides_of_out_indices(out_indices):
    model = BiSeNetV2(**TINY, out_indices=out_indices).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 64, 96))
    channels = {0: 16, 1: 4, 2: 8, 3: 16, 4: 16}
    strides = {0: 8, 1: 4, 2: 8, 3: 16, 4: 32}
    assert [tuple(o.shape) for o in outs] == [
        (2, channels[i], 64 // strides[i], 96 // strides[i]) for i in out_indices]
    assert model.out_channels == tuple(channels[i] for i in out_indices)
    assert model.out_strides == tuple(strides[i] for i in out_indices)


def test_config_widths_and_odd_input():
    """mmseg's config (default widths): (128, 16, 32, 64, 128) channels; odd sizes round up."""
    model = MODELS.build(dict(type='BiSeNetV2', init_cfg=None, align_corners=False)).eval()
    assert model.out_channels == (128, 16, 32, 64, 128)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 33, 50))
    assert [tuple(o.shape[1:]) for o in outs] == [(128, 5, 7), (16, 9, 13), (32, 5, 7),
                                                  (64, 3, 4), (128, 2, 2)]


def test_guided_aggregation_by_hand():
    detail = torch.full((1, 2, 4, 4), 2.0)
    detail_down = torch.full((1, 2, 1, 1), 3.0)
    zeros = torch.zeros(1, 2, 1, 1)  # sigmoid(0) = 0.5 gates
    out = guided_aggregation(detail, detail_down, zeros, zeros)
    torch.testing.assert_close(out, torch.full((1, 2, 4, 4), 2.0 * 0.5 + 3.0 * 0.5))
    # The semantic gate of the detail map is resized bilinearly to the detail size.
    semantic = torch.randn(1, 2, 2, 2)
    detail = torch.randn(1, 2, 4, 4)
    out = guided_aggregation(detail, torch.zeros(1, 2, 2, 2), semantic, zeros.expand(1, 2, 2, 2),
                             align_corners=True)
    up = F.interpolate(semantic, size=(4, 4), mode='bilinear', align_corners=True)
    torch.testing.assert_close(out, detail * torch.sigmoid(up))


def test_bga_and_context_embedding_shapes():
    bga = BGALayer(8).eval()
    with torch.no_grad():
        out = bga(torch.rand(2, 8, 16, 12), torch.rand(2, 8, 4, 3))
    assert out.shape == (2, 8, 16, 12)
    assert bga.detail_down[0].conv.stride == (2, 2)
    assert isinstance(bga.detail_down[1], nn.AvgPool2d)
    assert bga.detail_dwconv[0].pointwise_conv.norm_cfg is None  # no norm after the 1x1
    ce = CEBlock(8, 8).eval()
    x = torch.rand(2, 8, 5, 7)
    with torch.no_grad():
        out = ce(x)
        context = ce.conv_gap(ce.gap(x))
    assert context.shape == (2, 8, 1, 1) and out.shape == (2, 8, 5, 7)
    with torch.no_grad():
        torch.testing.assert_close(out, ce.conv_last(x + context))
    with pytest.raises(ValueError, match='in_channels must equal out_channels'):
        CEBlock(8, 4)


def test_stem_and_gather_expansion_shapes():
    with torch.no_grad():
        assert StemBlock(3, 8).eval()(torch.rand(1, 3, 32, 32)).shape == (1, 8, 8, 8)
        down = GELayer(4, 8, exp_ratio=2, stride=2).eval()
        assert down(torch.rand(1, 4, 8, 8)).shape == (1, 8, 4, 4)
        assert down.dwconv[0].conv.out_channels == 8 and down.shortcut is not None
        same = GELayer(8, 8, exp_ratio=2).eval()
        assert same(torch.rand(1, 8, 4, 4)).shape == (1, 8, 4, 4) and same.shortcut is None
    with pytest.raises(ValueError, match='in_channels == out_channels'):
        GELayer(4, 8, stride=1)


def test_init_weights_default():
    model = BiSeNetV2(**TINY)
    model.init_weights()
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(torch.all(m.weight == 1) for m in norms)


def test_loss_falls_with_fcn_head():
    """BiSeNetV2 at reduced widths + the config's FCN head on the aggregated map."""
    torch.manual_seed(0)
    backbone = BiSeNetV2(**TINY, out_indices=(0, ))
    head = MODELS.build(dict(type='FCNHead', in_channels=16, in_index=0, channels=16,
                             num_convs=1, concat_input=False, num_classes=3,
                             norm_cfg=dict(type='BN')))
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[:, :, 16:] = 1
    labels[1, 16:] = 2
    images = F.one_hot(labels, 3).permute(0, 3, 1, 2).float() + 0.1 * torch.randn(2, 3, 32, 32)
    samples = make_samples(labels)
    model = nn.ModuleList([backbone, head]).train()
    assert_loss_falls(model, lambda: head.loss(backbone(images), samples, {}))


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(out_indices=(0, 5)), ValueError, r'out_indices=\(0, 5\) has \[5\] outside the 5 '
     r'outputs; choose from 0: BGA'),
    (dict(out_indices=(-1, )), ValueError, r'has \[-1\]'),
    (dict(out_indices=()), ValueError, 'out_indices=.* is empty'),
    (dict(out_indices='0'), TypeError, 'out_indices must be an int or a list/tuple'),
    (dict(detail_channels=(64, 128)), ValueError,
     r'detail_channels must have 3 entries .*got 2: detail_channels=\(64, 128\)'),
    (dict(semantic_channels=(16, 32, 128)), ValueError,
     r'semantic_channels must have 4 entries .*got 3'),
    (dict(detail_channels=(64, 64, 96)), ValueError,
     r'detail_channels=\(64, 64, 96\) must equal bga_channels=128'),
    (dict(semantic_channels=(1, 32, 64, 128)), ValueError, r'semantic_channels\[0\] must be >= 2'),
    (dict(semantic_channels=(16, 32, 64, 0)), ValueError, 'semantic_channels entries must be'),
    (dict(detail_channels=64), TypeError, 'detail_channels must be a list/tuple'),
    (dict(semantic_expansion_ratio=0), ValueError, 'semantic_expansion_ratio must be >= 1'),
    (dict(norm_cfg=None), TypeError, 'norm_cfg must be a dict'),
])
def test_bad_arguments_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        BiSeNetV2(**kwargs)
