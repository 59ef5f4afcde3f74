"""Tests of segdet/models/backbones/resnext.py (ResNeXt) and the grouped-width rule."""
import pytest
import torch
import torchvision

from segdet.models.backbones import ResNeXt
from segdet.models.backbones.resnet_blocks import bottleneck_width
from _backbone_helpers import (load_same_random_weights, one_torch_thread,  # noqa: F401
                               torchvision_stages)


@pytest.mark.parametrize('planes,groups,base_width,expected', [
    (64, 1, 4, 64),  # plain ResNet ignores base_width
    (64, 32, 4, 128),  # X-50-32x4d, stage 1
    (512, 32, 4, 1024),  # X-50-32x4d, stage 4
    (64, 32, 8, 256),  # X-101-32x8d, stage 1
    (128, 64, 4, 512),  # X-101-64x4d, stage 2
    (64, 3, 5, 15),  # floor(64 * 5 / 64) * 3
])
def test_bottleneck_width(planes, groups, base_width, expected):
    assert bottleneck_width(planes, groups, base_width) == expected


def test_x101_32x8d_layout():
    with torch.device('meta'):
        model = ResNeXt(depth=101, groups=32, base_width=8)
    conv2 = model.layer1[0].conv2
    assert (conv2.in_channels, conv2.out_channels, conv2.groups) == (256, 256, 32)
    assert model.layer4[2].conv2.out_channels == 2048 and model.layer4[2].conv3.out_channels == 2048
    assert len(model.layer3) == 23


def test_matches_torchvision_resnext50_32x4d():
    with torch.device('meta'):
        tv = torchvision.models.resnext50_32x4d(weights=None)
        ours = ResNeXt(depth=50, groups=32, base_width=4)
    load_same_random_weights(tv, ours)
    tv.eval()
    ours.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = torchvision_stages(tv, x)
        got = ours(x)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-5)


def test_small_forward_and_depth_check():
    model = ResNeXt(depth=50, groups=4, base_width=4, base_channels=16, stem_channels=16,
                    strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 8, 8), (128, 4, 4), (256, 4, 4),
                                                   (512, 4, 4)]
    assert model.layer1[0].conv2.groups == 4
    with pytest.raises(KeyError, match='depth'):
        ResNeXt(depth=18, groups=32)
