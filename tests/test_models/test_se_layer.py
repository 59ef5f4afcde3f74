"""Tests of segdet/models/utils/se_layer.py."""
import warnings

import pytest
import torch

from segdet.models.utils import SELayer
from segdet.models.utils.se_layer import se_squeeze_channels


def test_squeeze_width_rounds_to_multiples_of_8():
    assert se_squeeze_channels(8, 4) == 8  # 2 -> at least 8
    assert se_squeeze_channels(96, 4) == 24
    assert se_squeeze_channels(120, 4) == 32  # 30 -> 32
    assert se_squeeze_channels(960, 4) == 240
    layer = SELayer(96, ratio=4)
    assert (layer.conv1.conv.in_channels, layer.conv1.conv.out_channels) == (96, 24)
    assert (layer.conv2.conv.in_channels, layer.conv2.conv.out_channels) == (24, 96)
    assert sorted(layer.state_dict()) == ['conv1.conv.bias', 'conv1.conv.weight',
                                          'conv2.conv.bias', 'conv2.conv.weight']


def test_gate_by_hand():
    """Means m per channel; conv1 = identity, ReLU; conv2 = 2 * identity - 1, HSigmoid:
    gate = clamp((2 * max(m, 0) - 1 + 3) / 6, 0, 1)."""
    layer = SELayer(8, ratio=4).eval()  # squeezed to make_divisible(2, 8) = 8 channels
    with torch.no_grad():
        layer.conv1.conv.weight.copy_(torch.eye(8)[:, :, None, None])
        layer.conv1.conv.bias.zero_()
        layer.conv2.conv.weight.copy_(2 * torch.eye(8)[:, :, None, None])
        layer.conv2.conv.bias.fill_(-1.0)
    means = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, -4.0, 0.25])
    # each channel a 2x2 map with that mean (not constant: the squeeze must average)
    x = means[None, :, None, None] + torch.tensor([[1.0, -1.0], [2.0, -2.0]])
    expected_gate = torch.tensor([1 / 3, 1 / 3, 1 / 2, 2 / 3, 1.0, 1.0, 1 / 3, 5 / 12])
    with torch.no_grad():
        gate = layer.gate(x)
        out = layer(x)
    torch.testing.assert_close(gate.flatten(), expected_gate)
    torch.testing.assert_close(out, x * expected_gate[None, :, None, None])


def test_one_act_cfg_for_both_and_no_mmcv_warning():
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # mmcv's HSigmoid note is silenced
        layer = SELayer(16, ratio=2, act_cfg=dict(type='HSigmoid', bias=3.0, divisor=6.0))
    assert type(layer.conv1.activate).__name__ == 'HSigmoid'
    assert type(layer.conv2.activate).__name__ == 'HSigmoid'
    x = torch.randn(2, 16, 3, 5)
    assert layer(x).shape == x.shape


def test_bad_input():
    with pytest.raises(ValueError, match='SELayer: ratio must be >= 1, got 0'):
        SELayer(8, ratio=0)
    with pytest.raises(ValueError, match='SELayer: channels must be >= 1, got 0'):
        SELayer(0)
    with pytest.raises(ValueError, match='one dict or two dicts, got 3'):
        SELayer(8, act_cfg=(dict(type='ReLU'), ) * 3)
    with pytest.raises(TypeError, match="act_cfg must be a dict or a pair of dicts, got 'ReLU'"):
        SELayer(8, act_cfg='ReLU')
