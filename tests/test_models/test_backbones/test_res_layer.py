"""Tests of segdet/models/utils/res_layer.py (ResLayer, stage_dilations, build_shortcut).

Kept beside the backbone tests because ResLayer is the stage builder of ResNet/HRNet.
"""
import pytest
import torch
from torch import nn

from segdet.models.backbones.resnet_blocks import BasicBlock, Bottleneck
from segdet.models.utils.res_layer import ResLayer, build_shortcut, stage_dilations

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize('args,expected', [
    ((3, 1), [1, 1, 1]),
    ((3, 2), [2, 2, 2]),
    ((3, 2, None, True), [1, 2, 2]),
    ((6, 4, None, True), [2, 4, 4, 4, 4, 4]),
    ((2, 1, None, True), [1, 1]),  # nothing to contract at dilation 1
    ((3, 2, (1, 2, 4)), [1, 2, 4]),  # multi-grid values are used as given
    ((3, 2, (1, 2, 4), True), [1, 2, 4]),  # multi-grid wins over contraction
    ((2, 1, (3, 5, 7)), [3, 5]),
])
def test_stage_dilations(args, expected):
    assert stage_dilations(*args) == expected


def test_stage_dilations_short_multi_grid():
    with pytest.raises(ValueError, match='multi_grid'):
        stage_dilations(3, 2, (1, 2))


def test_names_and_downsample_of_first_block():
    layer = ResLayer(Bottleneck, inplanes=64, planes=64, num_blocks=3)
    keys = layer.state_dict().keys()
    assert {'0.downsample.0.weight', '0.downsample.1.running_mean', '2.bn3.weight'} <= set(keys)
    assert layer[1].downsample is None and layer[2].downsample is None
    # No projection when neither stride nor width changes.
    same = ResLayer(BasicBlock, inplanes=16, planes=16, num_blocks=2)
    assert same[0].downsample is None


def test_avg_down_shortcut_layout():
    sc = build_shortcut(8, 32, stride=2, avg_down=True)
    assert isinstance(sc[0], nn.AvgPool2d) and sc[1].stride == (1, 1)
    assert list(sc.state_dict()) == ['1.weight', '2.weight', '2.bias', '2.running_mean',
                                     '2.running_var', '2.num_batches_tracked']
    # AvgPool(2) + 1x1 conv == 1x1 conv of the 2x2 means (the conv is linear).
    sc.eval()
    x = torch.randn(1, 8, 6, 6)
    pooled = nn.functional.avg_pool2d(x, 2)
    expected = sc[2](nn.functional.conv2d(pooled, sc[1].weight))
    torch.testing.assert_close(sc(x), expected)
    plain = build_shortcut(8, 32, stride=2)
    assert plain[0].stride == (2, 2) and len(plain) == 2


def test_dilation_forwarded_to_blocks_and_shapes():
    layer = ResLayer(Bottleneck, inplanes=32, planes=8, num_blocks=3, stride=1, dilation=4,
                     contract_dilation=True, style='caffe').eval()
    assert [b.conv2.dilation[0] for b in layer] == [2, 4, 4]
    assert all(b.style == 'caffe' for b in layer)
    out = layer(torch.randn(1, 32, 9, 9))
    assert out.shape == (1, 32, 9, 9)  # dilation keeps the resolution
    strided = ResLayer(BasicBlock, inplanes=8, planes=16, num_blocks=2, stride=2).eval()
    assert strided(torch.randn(1, 8, 9, 9)).shape == (1, 16, 5, 5)


def test_block_kwargs_and_init_cfg():
    layer = ResLayer(Bottleneck, inplanes=64, planes=64, num_blocks=2, groups=32, base_width=4,
                     block_init_cfg=dict(type='Constant', val=0, override=dict(name='norm3')))
    assert layer[0].conv2.groups == 32 and layer[0].conv2.out_channels == 128
    layer.init_weights()
    assert all(torch.all(b.norm3.weight == 0) for b in layer)


def test_downsample_last():
    """Hourglass layout: the last block downsamples, the others keep ``inplanes``."""
    layer = ResLayer(BasicBlock, inplanes=8, planes=16, num_blocks=3, stride=2,
                     downsample_first=False).eval()
    assert [b.downsample is None for b in layer] == [True, True, False]
    assert [b.conv1.out_channels for b in layer] == [8, 8, 16]
    assert layer(torch.randn(1, 8, 8, 8)).shape == (1, 16, 4, 4)


def test_rejects_empty_stage():
    with pytest.raises(ValueError, match='num_blocks'):
        ResLayer(BasicBlock, 8, 8, 0)
