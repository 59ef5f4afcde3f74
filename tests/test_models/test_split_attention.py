"""Tests of segdet/models/utils/split_attention.py (ResNeSt's split-attention conv)."""
import math

import pytest
import torch
import torch.nn.functional as F

from segdet.models.utils import RSoftmax, SplitAttentionConv2d
from segdet.models.utils.split_attention import fuse_splits, radix_softmax


def randomize_norms(module: torch.nn.Module, seed: int = 0) -> None:
    """Non-trivial BN statistics and affine parameters, so eval-mode norms are not identities."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def test_radix_softmax_by_hand():
    # radix 2, groups 2, one channel per (group, split). fc2's order is group-major:
    # [g0 r0, g0 r1, g1 r0, g1 r1] = [0, ln 3, 0, 0]; softmax over the splits of each group
    # gives g0: (1/4, 3/4), g1: (1/2, 1/2), returned split-major: [g0 r0, g1 r0, g0 r1, g1 r1].
    logits = torch.tensor([[0.0, math.log(3.0), 0.0, 0.0],
                           [math.log(4.0), 0.0, 0.0, math.log(9.0)]]).view(2, 4, 1, 1)
    expected = torch.tensor([[1 / 4, 1 / 2, 3 / 4, 1 / 2],
                             [4 / 5, 1 / 10, 1 / 5, 9 / 10]])
    torch.testing.assert_close(radix_softmax(logits, radix=2, groups=2), expected)
    torch.testing.assert_close(RSoftmax(2, 2)(logits), expected)


def test_radix_softmax_radix_one_is_sigmoid_and_weights_sum_to_one():
    logits = torch.randn(2, 6, 1, 1)
    torch.testing.assert_close(radix_softmax(logits, radix=1, groups=3),
                               torch.sigmoid(logits).view(2, 6))
    weights = radix_softmax(torch.randn(2, 4 * 2 * 3), radix=4, groups=2)
    torch.testing.assert_close(weights.view(2, 4, 6).sum(dim=1), torch.ones(2, 6))


def test_fuse_splits():
    features = torch.arange(2 * 3 * 2, dtype=torch.float32).view(1, 6, 1, 2)  # radix 3, C 2
    weights = torch.tensor([[1.0, 0.0, 0.5, 0.5, 0.0, 2.0]])
    # channel 0: 1 * f0 + 0.5 * f2 + 0 * f4; channel 1: 0 * f1 + 0.5 * f3 + 2 * f5
    expected = torch.stack([features[0, 0] + 0.5 * features[0, 2],
                            0.5 * features[0, 3] + 2 * features[0, 5]])[None]
    torch.testing.assert_close(fuse_splits(features, weights, radix=3), expected)


@pytest.mark.parametrize('stride,padding,dilation,out_hw', [(1, 1, 1, (9, 10)),
                                                            (2, 1, 1, (5, 5)),
                                                            (1, 2, 2, (9, 10))])
def test_output_shape_and_parameter_names(stride, padding, dilation, out_hw):
    module = SplitAttentionConv2d(8, 8, 3, stride=stride, padding=padding, dilation=dilation,
                                  groups=2, radix=2)
    out = module(torch.randn(2, 8, 9, 10))
    assert out.shape == (2, 8, *out_hw)
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()
              if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))}
    # attention width max(8 * 2 // 4, 32) = 32
    assert shapes == {'conv.weight': (16, 2, 3, 3), 'bn0.weight': (16, ), 'bn0.bias': (16, ),
                      'fc1.weight': (32, 4, 1, 1), 'fc1.bias': (32, ), 'bn1.weight': (32, ),
                      'bn1.bias': (32, ), 'fc2.weight': (16, 16, 1, 1), 'fc2.bias': (16, )}


def test_radix_one_is_sigmoid_gating():
    torch.manual_seed(0)
    module = SplitAttentionConv2d(6, 6, 3, padding=1, groups=1, radix=1)
    randomize_norms(module)
    module.eval()
    x = torch.randn(2, 6, 5, 7)
    with torch.no_grad():
        features = torch.relu(module.norm0(module.conv(x)))
        hidden = torch.relu(module.norm1(module.fc1(features.mean(dim=(2, 3), keepdim=True))))
        gate = torch.sigmoid(module.fc2(hidden))
        torch.testing.assert_close(module(x), gate * features)


def test_radix_two_groups_two_against_loops():
    """Every output channel is the softmax-weighted sum of its splits, with fc2's group-major
    and the conv's split-major channel orders spelled out index by index."""
    torch.manual_seed(1)
    radix, groups, channels = 2, 2, 6
    per_group = channels // groups
    module = SplitAttentionConv2d(8, channels, 3, padding=1, groups=groups, radix=radix)
    randomize_norms(module)
    module.eval()
    x = torch.randn(1, 8, 4, 5)
    with torch.no_grad():
        features = torch.relu(module.norm0(module.conv(x)))[0]  # (radix * channels, H, W)
        summed = sum(features[r * channels:(r + 1) * channels] for r in range(radix))
        pooled = summed.mean(dim=(1, 2)).view(1, channels, 1, 1)
        hidden = torch.relu(module.norm1(module.fc1(pooled)))
        logits = module.fc2(hidden).flatten()  # group-major
        expected = torch.empty(channels, 4, 5)
        for g in range(groups):
            for c in range(per_group):
                split_logits = torch.stack([logits[(g * radix + r) * per_group + c]
                                            for r in range(radix)])
                w = F.softmax(split_logits, dim=0)
                expected[g * per_group + c] = sum(
                    w[r] * features[r * channels + g * per_group + c] for r in range(radix))
        torch.testing.assert_close(module(x)[0], expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match='radix must be >= 1, got 0'):
        SplitAttentionConv2d(8, 8, 3, radix=0)
    with pytest.raises(ValueError, match='groups must be >= 1, got 0'):
        SplitAttentionConv2d(8, 8, 3, groups=0)
    with pytest.raises(TypeError, match='radix must be an int'):
        SplitAttentionConv2d(8, 8, 3, radix=2.0)
    with pytest.raises(ValueError, match='in_channels=8 must be divisible by groups \\* radix'):
        SplitAttentionConv2d(8, 8, 3, radix=3)
    with pytest.raises(ValueError, match='reduction_factor must be >= 1'):
        SplitAttentionConv2d(8, 8, 3, reduction_factor=0)
    with pytest.raises(ValueError, match='attention width .* = 32 must be divisible by groups=3'):
        SplitAttentionConv2d(6, 6, 3, groups=3, radix=2)
    with pytest.raises(NotImplementedError, match='dcn'):
        SplitAttentionConv2d(8, 8, 3, dcn=dict(type='DCNv2'))
    with pytest.raises(ValueError, match='RSoftmax: radix'):
        RSoftmax(0, 1)
