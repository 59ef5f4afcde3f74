"""Tests of segdet/models/backbones/mobilenet_v3.py."""
import copy

import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import assert_loss_falls, make_labels, make_samples
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.backbones import MobileNetV3
from segdet.models.backbones.mobilenet_v3 import dilate_to_output_stride
from segdet.models.decode_heads import LRASPPHead
from segdet.models.utils import InvertedResidualV3
from segdet.registry import MODELS

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

# mmseg's LR-ASPP configs: backbone out_indices and the head's in_channels
SMALL = dict(arch='small', out_indices=(0, 1, 12))
LARGE = dict(arch='large', out_indices=(1, 3, 16))


def test_dilate_to_output_stride():
    assert dilate_to_output_stride([2, 2, 2, 2, 1, 2, 1]) == (
        [2, 2, 2, 1, 1, 1, 1], [1, 1, 1, 2, 2, 4, 4])
    assert dilate_to_output_stride([2, 1, 2], output_stride=16) == ([2, 1, 2], [1, 1, 1])


@pytest.mark.parametrize('cfg, shapes', [
    (SMALL, [(16, 32, 32), (16, 16, 16), (576, 8, 8)]),
    (LARGE, [(16, 32, 32), (24, 16, 16), (960, 8, 8)])])
def test_config_channels_and_strides(cfg, shapes):
    """Strides 2, 4 and 8 (the last two downsamplings dilated) on a 64x64 input."""
    model = MODELS.build(dict(type='MobileNetV3', **cfg)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape[1:]) for o in outs] == shapes


@pytest.mark.parametrize('arch, stride2_layers, dilation2, dilation4', [
    ('small', (1, 2), range(4, 9), range(9, 12)),
    ('large', (2, 4), range(7, 13), range(13, 16))])
def test_d8_strides_and_dilations(arch, stride2_layers, dilation2, dilation4):
    """mmseg's D8 conversion: the blocks from the third / fourth downsampling on are
    dilated 2, from the next one on 4 (the last 1x1 conv too), all at stride 1."""
    model = MobileNetV3(arch=arch, out_indices=(0, ))
    blocks = [m for m in model.children() if isinstance(m, InvertedResidualV3)]
    assert len(blocks) == len(MobileNetV3.arch_settings[arch])
    for i, block in enumerate(blocks, start=1):
        conv = block.depthwise_conv.conv
        assert conv.stride == ((2, 2) if i in stride2_layers else (1, 1)), i
        dilation = 2 if i in dilation2 else 4 if i in dilation4 else 1
        assert conv.dilation == (dilation, dilation), i
    assert model.layer0.conv.stride == (2, 2)
    last = getattr(model, model.layers[-1])
    assert last.conv.kernel_size == (1, 1) and last.conv.dilation == (4, 4)


def test_odd_input_rounds_up():
    model = MobileNetV3(**SMALL).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 37, 45))
    assert [tuple(o.shape[2:]) for o in outs] == [(19, 23), (10, 12), (5, 6)]


def test_reduction_factor():
    model = MobileNetV3(arch='small', out_indices=(8, 9, 11, 12), reduction_factor=2).eval()
    assert (model.layer9.depthwise_conv.conv.in_channels, model.layer11.linear_conv.conv
            .out_channels) == (144, 48)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [48, 48, 48, 576]  # the last conv keeps 576
    # layer9 was a stride-2 block in mmseg: no shortcut although it now keeps the shape
    assert not model.layer9.with_res_shortcut and model.layer10.with_res_shortcut
    large = MobileNetV3(arch='large', out_indices=(16, ), reduction_factor=4)
    assert large.layer15.linear_conv.conv.out_channels == 40
    assert large.layer12.linear_conv.conv.out_channels == 112  # before the last stage


@pytest.mark.parametrize('frozen', [0, 5])
def test_frozen_stages(frozen):
    model = MobileNetV3(**SMALL, frozen_stages=frozen).train()
    for i, name in enumerate(model.layers):
        layer = getattr(model, name)
        assert {p.requires_grad for p in layer.parameters()} == {i > frozen}, name
        assert {m.training for m in layer.modules() if isinstance(m, _BatchNorm)} == \
            {i > frozen}, name


def test_norm_eval():
    model = MobileNetV3(**SMALL, norm_eval=True).train()
    before = copy.deepcopy(model.state_dict())
    model(torch.rand(2, 3, 32, 32))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if 'running' in k)
    assert not any(m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_init_cfg_and_pretrained():
    model = MobileNetV3(**SMALL)
    assert model.init_cfg == [dict(type='Kaiming', layer='Conv2d'),
                              dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
    with pytest.warns(DeprecationWarning):
        model = MobileNetV3(**SMALL, pretrained='open-mmlab://contrib/mobilenet_v3_small')
    assert model.init_cfg == dict(type='Pretrained',
                                  checkpoint='open-mmlab://contrib/mobilenet_v3_small')
    with pytest.raises(ValueError, match='either init_cfg or the deprecated pretrained'):
        MobileNetV3(pretrained='a.pth', init_cfg=dict(type='Pretrained', checkpoint='b.pth'))


def test_with_cp_same_output():
    torch.manual_seed(0)
    model = MobileNetV3(**SMALL, with_cp=True).eval()
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    outs = model(x)
    model.with_cp = False
    for block in model.children():
        block.with_cp = False
    for a, b in zip(outs, model(x)):
        torch.testing.assert_close(a, b)


def test_loss_falls_with_lraspp_head():
    """MobileNetV3-small + LR-ASPP (the -s configs' layout, narrow head) learn one fixed
    batch: 32x32 noise images whose labels are constant on 8x8 blocks."""
    torch.manual_seed(0)
    backbone = MobileNetV3(**SMALL)
    head = LRASPPHead(in_channels=(16, 16, 576), in_index=(0, 1, 2), channels=16,
                      branch_channels=(8, 8), input_transform='multiple_select',
                      num_classes=3, norm_cfg=dict(type='BN'), dropout_ratio=0)
    model = torch.nn.ModuleDict(dict(backbone=backbone, head=head)).train()
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    blocks = make_labels(2, 4, 4, num_classes=3)
    labels = F.interpolate(blocks[:, None].float(), scale_factor=8, mode='nearest')[:, 0]
    samples = make_samples(labels.long())
    assert_loss_falls(model, lambda: head.loss(backbone(images), samples, {}))


def test_bad_input():
    with pytest.raises(KeyError, match=r"arch='tiny' is not one of \['large', 'small'\]"):
        MobileNetV3(arch='tiny')
    with pytest.raises(ValueError, match=r"out_indices=\(0, 13\) must be layer indices in "
                                         r"\[0, 12\] for arch='small'"):
        MobileNetV3(arch='small', out_indices=(0, 13))
    with pytest.raises(ValueError, match=r"out_indices=\(1, 17\) must be layer indices in "
                                         r"\[0, 16\] for arch='large'"):
        MobileNetV3(arch='large', out_indices=(1, 17))
    with pytest.raises(ValueError, match=r'out_indices entries must be >= 0, got \(-1, 2\)'):
        MobileNetV3(out_indices=(-1, 2))
    with pytest.raises(TypeError, match='out_indices must be a list/tuple of ints, got int 3'):
        MobileNetV3(out_indices=3)
    with pytest.raises(ValueError, match=r"frozen_stages must be in \[-1, 12\] for "
                                         r"arch='small', got 13"):
        MobileNetV3(frozen_stages=13)
    with pytest.raises(ValueError, match='frozen_stages must be >= -1, got -2'):
        MobileNetV3(frozen_stages=-2)
    with pytest.raises(ValueError, match='reduction_factor must be >= 1, got 0'):
        MobileNetV3(reduction_factor=0)
    with pytest.raises(TypeError, match='reduction_factor must be an int, got float 1.5'):
        MobileNetV3(reduction_factor=1.5)
    with pytest.raises(ValueError, match=r"reduction_factor=200 leaves 0 channels .* "
                                         r"arch='small' \(96 channels\)"):
        MobileNetV3(reduction_factor=200)
