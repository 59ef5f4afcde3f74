"""Tests of segdet/models/utils/inverted_residual_v3.py."""
import pytest
import torch
from mmcv.cnn.bricks import Conv2dAdaptivePadding

from segdet.models.utils import InvertedResidualV3, SELayer

SE = dict(channels=24, ratio=4)


@pytest.mark.parametrize('stride, dilation, kernel, size, out_size', [
    (1, 1, 3, (9, 10), (9, 10)), (2, 1, 3, (9, 10), (5, 5)), (2, 1, 5, (8, 8), (4, 4)),
    (1, 2, 5, (9, 10), (9, 10)), (1, 4, 3, (6, 7), (6, 7))])
def test_shapes(stride, dilation, kernel, size, out_size):
    block = InvertedResidualV3(8, 16, 24, kernel_size=kernel, stride=stride, dilation=dilation,
                               se_cfg=SE, act_cfg=dict(type='HSwish')).eval()
    with torch.no_grad():
        out = block(torch.randn(2, 8, *size))
    assert out.shape == (2, 16, *out_size)
    assert (block.expand_conv.conv.in_channels, block.expand_conv.conv.out_channels) == (8, 24)
    dw = block.depthwise_conv.conv
    assert dw.groups == 24 and dw.stride == (stride, stride) and dw.dilation == (dilation, ) * 2
    # stride 2: TensorFlow 'same' padding (mmseg); stride 1: symmetric, size-keeping
    assert isinstance(dw, Conv2dAdaptivePadding) == (stride == 2)
    if stride == 1:
        assert dw.padding == (dilation * (kernel // 2), ) * 2
    assert isinstance(block.se, SELayer)
    assert not block.linear_conv.with_activation and block.linear_conv.with_norm
    assert not block.with_res_shortcut


def test_stride_2_pads_like_tensorflow_same():
    """An even input is padded 0 before and 1 after (TF 'same'), not 1 on both sides."""
    block = InvertedResidualV3(1, 2, 1, stride=2, with_expand_conv=False, norm_cfg=None,
                               act_cfg=None)
    with torch.no_grad():
        block.depthwise_conv.conv.weight.fill_(1.0)
        x = torch.arange(16.).reshape(1, 1, 4, 4)
        out = block.depthwise_conv(x)
    # window rows/cols (0..2) and (2..4 with one padded zero row/col)
    expected = torch.tensor([[[[45., 39.], [66., 50.]]]])  # symmetric padding: 10 at (0, 0)
    torch.testing.assert_close(out, expected)


def test_no_expand_conv_and_keys():
    block = InvertedResidualV3(16, 16, 16, with_expand_conv=False, se_cfg=dict(channels=16))
    assert not hasattr(block, 'expand_conv')
    assert sorted({k.rsplit('.', 1)[0] for k in block.state_dict()}) == [
        'depthwise_conv.bn', 'depthwise_conv.conv', 'linear_conv.bn', 'linear_conv.conv',
        'se.conv1.conv', 'se.conv2.conv']


@pytest.mark.parametrize('cin, cout, stride, residual, expected', [
    (8, 8, 1, None, True), (8, 16, 1, None, False), (8, 8, 2, None, False),
    (8, 8, 1, False, False), (8, 8, 1, True, True)])
def test_residual_present_or_absent(cin, cout, stride, residual, expected):
    torch.manual_seed(0)
    block = InvertedResidualV3(cin, cout, 16, stride=stride, residual=residual).eval()
    assert block.with_res_shortcut == expected
    x = torch.randn(1, cin, 6, 6)
    with torch.no_grad():
        branch = block.linear_conv(block.depthwise_conv(block.expand_conv(x)))
        torch.testing.assert_close(block(x), x + branch if expected else branch)


def test_with_cp_same_output_and_gradient():
    torch.manual_seed(0)
    block = InvertedResidualV3(8, 8, 16, se_cfg=dict(channels=16), with_cp=True).eval()
    x = torch.randn(1, 8, 5, 5, requires_grad=True)
    out = block(x)
    block.with_cp = False
    torch.testing.assert_close(out, block(x))
    out.sum().backward()
    assert x.grad is not None and block.expand_conv.conv.weight.grad is not None


def test_bad_input():
    with pytest.raises(ValueError, match='stride must be 1 or 2, got 3'):
        InvertedResidualV3(8, 8, 16, stride=3)
    with pytest.raises(ValueError, match='with_expand_conv=False needs mid_channels == '
                                         'in_channels, got mid_channels=16, in_channels=8'):
        InvertedResidualV3(8, 8, 16, with_expand_conv=False)
    with pytest.raises(ValueError, match=r"se_cfg\['channels'\] must be mid_channels=16"):
        InvertedResidualV3(8, 8, 16, se_cfg=dict(channels=8))
    with pytest.raises(TypeError, match='se_cfg must be a dict or None'):
        InvertedResidualV3(8, 8, 16, se_cfg=True)
    with pytest.raises(ValueError, match='residual=True needs stride 1 and in_channels == '
                                         'out_channels'):
        InvertedResidualV3(8, 8, 16, stride=2, residual=True)
    with pytest.raises(ValueError, match='InvertedResidualV3: mid_channels must be >= 1, got 0'):
        InvertedResidualV3(8, 8, 0)
