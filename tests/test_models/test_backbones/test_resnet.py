"""Tests of segdet/models/backbones/resnet.py (ResNet, ResNetV1c, ResNetV1d) and its blocks."""
import pytest
import torch
import torchvision
from mmcv.cnn.bricks.conv_ws import ConvWS2d
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.backbones import ResNet, ResNetV1c, ResNetV1d
from segdet.models.backbones.resnet_blocks import BasicBlock, Bottleneck, conv_strides
from segdet.registry import MODELS

from _backbone_helpers import (load_same_random_weights, one_torch_thread,  # noqa: F401
                               torchvision_stages)

D8 = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
D16 = dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2))
SMALL = dict(base_channels=16, stem_channels=16)  # same topology, 1/4 width: fast tests


@pytest.mark.parametrize('depth', [18, 50, 101])
@pytest.mark.parametrize('setting,out_strides', [
    ({}, (4, 8, 16, 32)),
    (D8, (4, 8, 8, 8)),
    (D16, (4, 8, 16, 16)),
])
def test_output_channels_and_strides(depth, setting, out_strides):
    model = ResNetV1c(depth=depth, contract_dilation=True, **SMALL, **setting).eval()
    expansion = 1 if depth == 18 else 4
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert len(outs) == 4
    for i, (out, stride) in enumerate(zip(outs, out_strides)):
        assert out.shape == (1, 16 * 2**i * expansion, 64 // stride, 64 // stride)
    assert model.feat_dim == 128 * expansion


@pytest.mark.parametrize('depth,blocks', [(18, (2, 2, 2, 2)), (34, (3, 4, 6, 3)),
                                          (50, (3, 4, 6, 3)), (101, (3, 4, 23, 3)),
                                          (152, (3, 8, 36, 3))])
def test_full_width_stage_channels(depth, blocks):
    with torch.device('meta'):
        model = ResNet(depth=depth)
    expansion = 1 if depth < 50 else 4
    assert tuple(len(getattr(model, f'layer{i + 1}')) for i in range(4)) == blocks
    for i in range(4):
        last = getattr(model, f'layer{i + 1}')[-1]
        last_conv = last.conv2 if expansion == 1 else last.conv3
        assert last_conv.out_channels == 64 * 2**i * expansion


def test_out_indices_and_num_stages():
    model = ResNet(depth=18, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
                   out_indices=(2, )).eval()
    assert not hasattr(model, 'layer4')
    outs = model(torch.rand(1, 3, 32, 32))
    assert len(outs) == 1 and outs[0].shape == (1, 256, 2, 2)


def test_contract_dilation_first_block_uses_half():
    model = ResNetV1c(depth=50, contract_dilation=True, **SMALL, **D8)
    dil = lambda m: (m.conv2.dilation[0], m.conv2.padding[0])  # noqa: E731
    assert [dil(b) for b in model.layer3] == [(1, 1)] + [(2, 2)] * 5
    assert [dil(b) for b in model.layer4] == [(2, 2), (4, 4), (4, 4)]
    assert all(dil(b) == (1, 1) for b in model.layer2)
    plain = ResNetV1c(depth=50, contract_dilation=False, **SMALL, **D8)
    assert [dil(b) for b in plain.layer4] == [(4, 4)] * 3
    # BasicBlock dilates its first conv only (as mmseg).
    r18 = ResNet(depth=18, contract_dilation=True, **SMALL, **D8)
    assert [b.conv1.dilation[0] for b in r18.layer4] == [2, 4]
    assert [b.conv2.dilation[0] for b in r18.layer4] == [1, 1]


def test_multi_grid_only_last_stage():
    model = ResNetV1c(depth=50, multi_grid=(1, 2, 4), **SMALL, **D16)
    assert [b.conv2.dilation[0] for b in model.layer4] == [1, 2, 4]
    assert all(b.conv2.dilation[0] == 1 for b in model.layer3)
    with pytest.raises(ValueError, match='multi_grid'):
        ResNet(depth=50, multi_grid=(1, 2))


@pytest.mark.parametrize('depth', [18, 50])
def test_matches_torchvision(depth):
    """Same weights -> same features: proves block structure, ordering and strides."""
    with torch.device('meta'):  # skip the (slow) default init; weights are assigned below
        tv = getattr(torchvision.models, f'resnet{depth}')(weights=None)
        ours = ResNet(depth=depth, style='pytorch')
    load_same_random_weights(tv, ours)
    tv.eval()
    ours.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = torchvision_stages(tv, x)
        got = ours(x)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)
    assert got[3].abs().mean() > 0  # a real signal, not all zeros


def test_style_caffe_puts_stride_on_conv1():
    assert conv_strides('pytorch', 2) == (1, 2)
    assert conv_strides('caffe', 2) == (2, 1)
    with pytest.raises(ValueError, match='style'):
        conv_strides('tf', 2)
    caffe = ResNet(depth=50, style='caffe', **SMALL)
    pytorch = ResNet(depth=50, style='pytorch', **SMALL)
    first = caffe.layer2[0]
    assert first.conv1.stride == (2, 2) and first.conv2.stride == (1, 1)
    first = pytorch.layer2[0]
    assert first.conv1.stride == (1, 1) and first.conv2.stride == (2, 2)
    with torch.no_grad():
        out = caffe.eval()(torch.rand(1, 3, 64, 64))
    assert [o.shape[-1] for o in out] == [16, 8, 4, 2]


def test_group_norm_and_conv_ws_build_and_run():
    model = ResNet(depth=50, norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
                   conv_cfg=dict(type='ConvWS'), base_channels=32, stem_channels=32)
    block = model.layer1[0]
    assert isinstance(model.gn1, nn.GroupNorm) and model.gn1.num_groups == 32
    assert block.norm3 is block.gn3 and isinstance(block.conv2, ConvWS2d)
    assert isinstance(model.conv1, ConvWS2d)
    assert isinstance(block.downsample[0], ConvWS2d)
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    outs = model.train()(torch.rand(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [128, 256, 512, 1024]
    assert all(torch.isfinite(o).all() for o in outs)


def test_frozen_stages():
    model = ResNet(depth=18, frozen_stages=1, **SMALL)
    model.train()
    frozen = [model.conv1, model.bn1, model.layer1]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.bn1.training and not model.layer1[0].bn1.training
    assert model.layer2[0].bn1.training
    deep = ResNetV1c(depth=18, frozen_stages=0, **SMALL).train()
    assert all(not p.requires_grad for p in deep.stem.parameters())
    assert not deep.stem[1].training
    assert all(p.requires_grad for p in deep.layer1.parameters())


def test_norm_eval_keeps_running_stats():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    model = ResNet(depth=18, base_channels=8, stem_channels=8, norm_eval=True).train()
    assert model.training and not any(m.training for m in model.modules()
                                       if isinstance(m, _BatchNorm))
    before = {k: v.clone() for k, v in model.state_dict().items() if 'running' in k}
    model(x)
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    # Without norm_eval the same forward does move the statistics.
    model = ResNet(depth=18, base_channels=8, stem_channels=8).train()
    model(x)
    assert not torch.equal(model.bn1.running_mean, torch.zeros(8))


@pytest.mark.parametrize('depth,last', [(18, 'norm2'), (50, 'norm3')])
def test_zero_init_residual(depth, last):
    model = ResNet(depth=depth, base_channels=8, stem_channels=8)
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]
    assert len(blocks) == sum(model.stage_blocks)
    for b in blocks:
        assert torch.all(getattr(b, last).weight == 0) and torch.all(b.last_norm.bias == 0)
        assert torch.all(b.norm1.weight == 1)
    assert torch.all(model.bn1.weight == 1)
    keep = ResNet(depth=depth, base_channels=8, stem_channels=8, zero_init_residual=False)
    keep.init_weights()
    assert all(torch.all(b.last_norm.weight == 1) for b in keep.modules()
               if isinstance(b, (BasicBlock, Bottleneck)))


def test_with_cp_same_output_and_gradients():
    torch.manual_seed(0)
    plain = ResNet(depth=18, base_channels=8, stem_channels=8)
    cp = ResNet(depth=18, base_channels=8, stem_channels=8, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    out_plain = sum(o.sum() for o in plain.train()(x))
    out_cp = sum(o.sum() for o in cp.train()(x.clone().requires_grad_()))
    out_plain.backward()
    out_cp.backward()
    torch.testing.assert_close(out_cp, out_plain)
    torch.testing.assert_close(cp.layer3[0].conv1.weight.grad, plain.layer3[0].conv1.weight.grad)


def test_v1d_avg_down_shortcut():
    model = ResNetV1d(depth=50, **SMALL)
    ds = model.layer2[0].downsample
    assert isinstance(ds[0], nn.AvgPool2d) and ds[0].kernel_size == 2
    assert ds[1].stride == (1, 1)
    assert isinstance(model.layer1[0].downsample[0], nn.AvgPool2d)
    keys = model.state_dict().keys()
    assert 'layer2.0.downsample.1.weight' in keys and 'layer2.0.downsample.2.running_var' in keys
    assert 'stem.0.weight' in keys and 'conv1.weight' not in keys
    with torch.no_grad():
        outs = model.eval()(torch.rand(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]


def test_registry_and_stem_channels():
    model = MODELS.build(dict(type='ResNetV1c', depth=18, stem_channels=32, base_channels=16))
    assert model.stem[0].out_channels == 16 and model.stem[6].out_channels == 32
    assert model.layer1[0].conv1.in_channels == 32
    mmdet_default = ResNet(depth=18, base_channels=16, stem_channels=None)
    assert mmdet_default.conv1.out_channels == 16


def test_argument_errors():
    with pytest.raises(KeyError, match='depth'):
        ResNet(depth=20)
    with pytest.raises(ValueError, match='style'):
        ResNet(depth=18, style='tf')
    with pytest.raises(ValueError, match='strides'):
        ResNet(depth=18, num_stages=3)
    with pytest.raises(ValueError, match='out_indices'):
        ResNet(depth=18, out_indices=(4, ))
    with pytest.raises(NotImplementedError, match='dcn'):
        ResNet(depth=50, dcn=dict(type='DCN'), stage_with_dcn=(False, True, True, True))
    with pytest.raises(NotImplementedError, match='plugins'):
        ResNet(depth=50, plugins=[dict(cfg=dict(type='ContextBlock'), position='after_conv3')])
    with pytest.raises(ValueError, match='pretrained'):
        ResNet(depth=18, pretrained='a.pth', init_cfg=dict(type='Pretrained', checkpoint='b'))
    with pytest.raises(TypeError, match='pretrained'):
        ResNet(depth=18, pretrained=1)
    with pytest.warns(DeprecationWarning):
        model = ResNet(depth=18, pretrained='torchvision://resnet18', **SMALL)
    assert model.init_cfg == dict(type='Pretrained', checkpoint='torchvision://resnet18')
