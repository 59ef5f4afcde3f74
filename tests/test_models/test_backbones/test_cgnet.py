"""Tests of segdet/models/backbones/cgnet.py and cgnet_modules.py."""
import copy
import math

import pytest
import torch
from segmentation_fixtures import assert_loss_falls, make_samples
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.backbones import CGNet
from segdet.models.backbones.cgnet_modules import (ContextGuidedBlock, GlobalContextExtractor,
                                                   InputInjection, global_context_reweight)
from segdet.registry import MODELS

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

#: the configs' settings (configs/_base_/models/cgnet.py, M3N21) and a narrow variant.
M3N21 = dict(num_channels=(32, 64, 128), num_blocks=(3, 21), dilations=(2, 4),
             reductions=(8, 16))
TINY = dict(num_channels=(8, 16, 32), num_blocks=(1, 2), dilations=(2, 4), reductions=(4, 8))


def test_global_context_extractor_by_hand():
    # C=2, reduction 2 -> one hidden unit h = relu(m0 + m1); gates sigmoid(h), sigmoid(-h).
    gce = GlobalContextExtractor(2, reduction=2)
    with torch.no_grad():
        gce.fc[0].weight.copy_(torch.tensor([[1.0, 1.0]]))
        gce.fc[0].bias.zero_()
        gce.fc[2].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        gce.fc[2].bias.copy_(torch.tensor([0.0, 0.5]))
    x = torch.stack([torch.ones(3, 4), torch.full((3, 4), 3.0)])[None]  # means 1 and 3
    x[0, 0, 0, 0] = 5.0  # channel 0 mean: (11 + 5) / 12 = 4 / 3
    h = 4.0 / 3.0 + 3.0
    gates = torch.tensor([1 / (1 + math.exp(-h)), 1 / (1 + math.exp(h - 0.5))])
    out = gce(x)
    torch.testing.assert_close(out, x * gates[None, :, None, None])
    torch.testing.assert_close(global_context_reweight(x, gce.fc), out)
    assert [m.__class__ for m in gce.fc] == [nn.Linear, nn.ReLU, nn.Linear, nn.Sigmoid]


def test_context_guided_block_downsample():
    block = ContextGuidedBlock(5, 8, dilation=3, reduction=4, downsample=True).eval()
    assert not block.skip_connect and block.bottleneck.weight.shape == (8, 16, 1, 1)
    conv = block.conv1x1.conv
    assert (conv.kernel_size, conv.stride, conv.out_channels) == ((3, 3), (2, 2), 8)
    assert block.conv1x1.activate.num_parameters == 8 and block.activate.num_parameters == 16
    assert (block.f_sur.dilation, block.f_sur.padding, block.f_sur.groups) == ((3, 3), (3, 3), 8)
    assert block.f_loc.groups == 8 and block.f_glo.fc[0].out_features == 2
    with torch.no_grad():
        assert block(torch.rand(2, 5, 9, 7)).shape == (2, 8, 5, 4)


def test_context_guided_block_residual():
    torch.manual_seed(0)
    block = ContextGuidedBlock(8, 8, reduction=4).eval()
    assert block.skip_connect and not hasattr(block, 'bottleneck')
    assert block.conv1x1.conv.kernel_size == (1, 1) and block.conv1x1.activate.num_parameters == 4
    x = torch.randn(1, 8, 6, 5)
    with torch.no_grad():
        out = block(x)
        no_skip = copy.deepcopy(block)
        no_skip.skip_connect = False
        torch.testing.assert_close(out, x + no_skip(x))
    plain = ContextGuidedBlock(8, 8, reduction=4, skip_connect=False)
    assert not plain.skip_connect


def test_block_with_cp_same_output_and_grads():
    torch.manual_seed(0)
    block = ContextGuidedBlock(4, 4, reduction=2)
    cp_block = copy.deepcopy(block)
    cp_block.with_cp = cp_block.f_glo.with_cp = True
    x = torch.randn(2, 4, 6, 6, requires_grad=True)
    for b in (block, cp_block):
        b(x).sum().backward()
    torch.testing.assert_close(cp_block.f_loc.weight.grad, block.f_loc.weight.grad)


@pytest.mark.parametrize('size', [64, 65, 7])
def test_input_injection_sizes(size):
    x = torch.rand(1, 3, size, size + 2)
    conv = nn.Conv2d(3, 1, 3, stride=2, padding=1)
    down1 = conv(x)
    down2 = conv(down1.expand(-1, 3, -1, -1))
    assert InputInjection(1)(x).shape[2:] == down1.shape[2:]
    assert InputInjection(2)(x).shape[2:] == down2.shape[2:]
    assert InputInjection(0)(x) is x
    # zero padding counts in the average (count_include_pad): corner = 4 ones / 9
    corner = InputInjection(1)(torch.ones(1, 1, 4, 4))[0, 0, 0, 0]
    assert corner.item() == pytest.approx(4 / 9)


def test_config_widths_channels_and_strides():
    model = MODELS.build(dict(type='CGNet', norm_cfg=dict(type='BN', eps=1e-3), **M3N21)).eval()
    assert len(model.level1) == 3 and len(model.level2) == 21
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 48))
    assert isinstance(outs, tuple)
    # strides 2, 4, 8; channels C0 + 3, 2 * C1 + 3, 2 * C2 (256 = the FCN head's in_channels)
    assert [tuple(o.shape) for o in outs] == [(1, 35, 16, 24), (1, 131, 8, 12), (1, 256, 4, 6)]


def test_tiny_odd_input_and_act_cfg_untouched():
    act_cfg = dict(type='PReLU')
    model = CGNet(in_channels=1, act_cfg=act_cfg, **TINY).eval()
    assert act_cfg == dict(type='PReLU')  # each layer got its own copy
    assert model.stem[0].activate.num_parameters == 8
    assert [b.downsample for b in model.level2] == [True, False]
    with torch.no_grad():
        outs = model(torch.rand(2, 1, 33, 17))
    assert [tuple(o.shape) for o in outs] == [(2, 9, 17, 9), (2, 33, 9, 5), (2, 64, 5, 3)]
    relu = CGNet(act_cfg=dict(type='ReLU'), **TINY)
    assert isinstance(relu.level1[0].conv1x1.activate, nn.ReLU)
    assert isinstance(relu.level1[0].activate, nn.PReLU)  # the joint PReLU is fixed (mmseg)


def test_default_init_and_norm_eval():
    model = CGNet(norm_eval=True, **TINY)
    model.init_weights()
    slopes = [m.weight for m in model.modules() if isinstance(m, nn.PReLU)]
    assert slopes and all(torch.all(s == 0) for s in slopes)
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    assert CGNet(**TINY).train().stem[0].bn.training


def test_loss_falls_with_fcn_num_convs_0_and_class_weights():
    """Tiny CGNet + the configs' bare FCN classifier and class-weighted CE, one fixed batch."""
    torch.manual_seed(0)
    num_classes = 4
    backbone = CGNet(**TINY)
    head = MODELS.build(dict(
        type='FCNHead', in_channels=64, in_index=2, channels=64, num_convs=0,
        concat_input=False, dropout_ratio=0, num_classes=num_classes,
        norm_cfg=dict(type='BN'),
        loss_decode=dict(type='CrossEntropyLoss', class_weight=[1.0, 2.0, 0.5, 3.0])))
    assert not any(isinstance(m, nn.Conv2d) for m in head.convs.modules())
    # 8x8 blocks of one class each; the image colour tells the class.
    coarse = torch.randint(0, num_classes, (2, 4, 4), generator=torch.Generator().manual_seed(1))
    labels = coarse.repeat_interleave(8, 1).repeat_interleave(8, 2)
    palette = torch.rand(num_classes, 3, generator=torch.Generator().manual_seed(2))
    images = palette[labels].permute(0, 3, 1, 2) + 0.05 * torch.randn(2, 3, 32, 32)
    samples = make_samples(labels)
    model = nn.ModuleList([backbone, head]).train()
    assert_loss_falls(model, lambda: head.loss(backbone(images), samples, {}), lr=0.02)


@pytest.mark.parametrize('name, value, match', [
    ('num_channels', (32, 64), r'num_channels=\(32, 64\) must have 3 entries'),
    ('num_blocks', (3, 21, 1), r'num_blocks=\(3, 21, 1\) must have 2 entries'),
    ('dilations', (2, ), r'dilations=\(2,\) must have 2 entries'),
    ('reductions', [8, 16, 32], r'reductions=\(8, 16, 32\) must have 2 entries'),
    ('num_blocks', (0, 21), r'num_blocks entries must be >= 1'),
    ('reductions', (8, 256), r'reductions=\(8, 256\): entry 1 \(256\) must be <= '
                             r'num_channels\[2\]=128'),
])
def test_bad_stage_arguments(name, value, match):
    with pytest.raises(ValueError, match='CGNet: ' + match):
        CGNet(**{**M3N21, name: value})


def test_bad_types_and_module_arguments():
    with pytest.raises(TypeError, match='CGNet: dilations must be a list/tuple of ints'):
        CGNet(dilations=2)
    with pytest.raises(ValueError, match=r'GlobalContextExtractor: reduction=16 must be <= '
                                         r'channel=8'):
        GlobalContextExtractor(8, reduction=16)
    with pytest.raises(ValueError, match='GlobalContextExtractor: reduction must be >= 1'):
        GlobalContextExtractor(8, reduction=0)
    with pytest.raises(ValueError, match='in_channels == out_channels, got 4 and 8'):
        ContextGuidedBlock(4, 8, reduction=2)
    with pytest.raises(ValueError, match='out_channels=7 must be even'):
        ContextGuidedBlock(7, 7, reduction=1)
    with pytest.raises(ValueError, match='init_cfg or the deprecated pretrained'):
        CGNet(pretrained='x.pth', init_cfg=dict(type='Pretrained', checkpoint='x.pth'))
