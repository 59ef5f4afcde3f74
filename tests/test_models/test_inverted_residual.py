"""Tests of segdet/models/utils/inverted_residual.py."""
import pytest
import torch
from mmcv.cnn import ConvModule

from segdet.models.utils import InvertedResidual
from segdet.models.utils.inverted_residual import expanded_channels


def identity_weights(block: InvertedResidual) -> None:
    """Every conv of ``block`` an identity map (1x1 weights 1, depthwise centre tap 1, biases
    0); only for blocks with equal widths throughout (expand_ratio 1, in == out)."""
    with torch.no_grad():
        for module in block.conv:
            conv = module.conv
            conv.weight.zero_()
            conv.weight[:, :, conv.kernel_size[0] // 2, conv.kernel_size[1] // 2] = 1.0
            conv.bias.zero_()


@pytest.mark.parametrize('stride, dilation, size, out_size', [
    (1, 1, (9, 10), (9, 10)), (2, 1, (9, 10), (5, 5)), (1, 2, (9, 10), (9, 10)),
    (2, 4, (8, 8), (4, 4))])
def test_shapes(stride, dilation, size, out_size):
    block = InvertedResidual(8, 16, stride, expand_ratio=6, dilation=dilation).eval()
    with torch.no_grad():
        out = block(torch.randn(2, 8, *size))
    assert out.shape == (2, 16, *out_size)
    expand, depthwise, project = block.conv
    assert (expand.conv.in_channels, expand.conv.out_channels) == (8, 48)
    assert depthwise.conv.groups == 48 and depthwise.conv.stride == (stride, stride)
    assert depthwise.conv.dilation == (dilation, dilation)
    assert depthwise.conv.padding == (dilation, dilation)
    assert (project.conv.in_channels, project.conv.out_channels) == (48, 16)
    # linear bottleneck: norm, no activation after the projection
    assert expand.with_activation and depthwise.with_activation
    assert not project.with_activation and project.with_norm


def test_expand_ratio_one_has_no_expand_conv():
    block = InvertedResidual(8, 8, 1, expand_ratio=1)
    assert len(block.conv) == 2
    assert all(isinstance(m, ConvModule) for m in block.conv)
    depthwise, project = block.conv
    assert depthwise.conv.groups == 8 and depthwise.conv.kernel_size == (3, 3)
    assert project.conv.kernel_size == (1, 1)
    assert [k for k in block.state_dict() if k.endswith('.weight')] == [
        'conv.0.conv.weight', 'conv.0.bn.weight', 'conv.1.conv.weight', 'conv.1.bn.weight']


@pytest.mark.parametrize('cin, cout, stride, residual', [
    (8, 8, 1, True), (8, 16, 1, False), (8, 8, 2, False), (8, 16, 2, False)])
def test_residual_present_or_absent(cin, cout, stride, residual):
    torch.manual_seed(0)
    block = InvertedResidual(cin, cout, stride, expand_ratio=2).eval()
    assert block.use_res_connect == residual
    x = torch.randn(1, cin, 6, 6)
    with torch.no_grad():
        branch = block.conv(x)
        torch.testing.assert_close(block(x), x + branch if residual else branch)


def test_hand_computed_identity_block():
    # Identity convs: the block computes x + ReLU6(x) (ReLU6 after the depthwise conv, none
    # after the projection, the input added back).
    block = InvertedResidual(1, 1, 1, expand_ratio=1, norm_cfg=None).eval()
    identity_weights(block)
    x = torch.tensor([[-1.0, 0.5], [3.0, 8.0]]).view(1, 1, 2, 2)
    with torch.no_grad():
        out = block(x)
    torch.testing.assert_close(out, torch.tensor([[-1.0, 1.0], [6.0, 14.0]]).view(1, 1, 2, 2))
    # Without the residual (stride 2) only the ReLU6 branch is left: one output pixel
    # (the top-left one) of the 2x2 input.
    strided = InvertedResidual(1, 1, 2, expand_ratio=1, norm_cfg=None).eval()
    identity_weights(strided)
    with torch.no_grad():
        assert strided(x).flatten().tolist() == [0.0]


def test_with_cp_same_output_and_gradients():
    torch.manual_seed(0)
    plain = InvertedResidual(4, 4, 1, expand_ratio=3)
    cp = InvertedResidual(4, 4, 1, expand_ratio=3, with_cp=True)
    cp.load_state_dict(plain.state_dict())
    x1 = torch.randn(2, 4, 5, 5, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    plain(x1).square().sum().backward()
    cp(x2).square().sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    for p, q in zip(plain.parameters(), cp.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_hidden_width_rounding():
    assert expanded_channels(24, 6) == 144
    assert expanded_channels(5, 1.5) == 8  # round(7.5) = 8 (round half to even)
    assert expanded_channels(3, 0.5) == 2


def test_bad_input():
    with pytest.raises(ValueError, match='InvertedResidual: stride must be 1 or 2, got 3'):
        InvertedResidual(8, 8, 3, expand_ratio=6)
    with pytest.raises(ValueError, match=r'expand_ratio=0.01 with in_channels=8 .* 0 channels'):
        InvertedResidual(8, 8, 1, expand_ratio=0.01)
    with pytest.raises(ValueError, match='in_channels=0 and out_channels=8'):
        InvertedResidual(0, 8, 1, expand_ratio=6)
