"""Dilated convolutions computed at dilation 1 on interleaved sub-images equal ``F.conv2d``:
values (by hand and against PyTorch), gradients, layouts, the module and its conversion."""
import copy
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segdet.ops.space_to_batch import (SpaceToBatchConv2d, runs_as_space_to_batch,
                                       space_to_batch_conv2d, use_space_to_batch)


def reference(x, weight, bias, dilation, groups):
    k_h, k_w = weight.shape[-2:]
    padding = (dilation[0] * (k_h - 1) // 2, dilation[1] * (k_w - 1) // 2)
    return F.conv2d(x, weight, bias, 1, padding, dilation, groups)


def test_hand_computed_sum_of_dilated_neighbours():
    # One channel, a 3x3 kernel of ones at dilation 2: each output sums the pixels two rows
    # and/or columns away (zero outside the 5x4 map).
    x = torch.arange(20.).reshape(1, 1, 5, 4)
    out = space_to_batch_conv2d(x, torch.ones(1, 1, 3, 3), None, (2, 2), 1)
    v = x[0, 0]
    assert out[0, 0, 0, 0] == v[0, 0] + v[0, 2] + v[2, 0] + v[2, 2]  # 0 + 2 + 8 + 10
    assert out[0, 0, 2, 1] == (v[0, 1] + v[0, 3] + v[2, 1] + v[2, 3] + v[4, 1] + v[4, 3])
    assert out[0, 0, 4, 3] == v[2, 1] + v[2, 3] + v[4, 1] + v[4, 3]
    assert out.shape == (1, 1, 5, 4)


@pytest.mark.parametrize('size', [(24, 36), (20, 23), (5, 7)])
@pytest.mark.parametrize('dilation', [(2, 2), (7, 7), (12, 12), (3, 5), (12, 1)])
def test_equals_dilated_depthwise_conv(size, dilation):
    torch.manual_seed(0)
    x = torch.randn(2, 6, *size).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(6, 1, 3, 3)
    bias = torch.randn(6)
    out = space_to_batch_conv2d(x, weight, bias, dilation, 6)
    torch.testing.assert_close(out, reference(x, weight, bias, dilation, 6),
                               rtol=1e-5, atol=1e-5)
    assert out.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize('groups, c_out, kernel', [(4, 8, (3, 3)), (1, 5, (3, 3)),
                                                   (2, 4, (5, 3))])
def test_equals_other_groupings_and_kernels(groups, c_out, kernel):
    # A channel multiplier, a dense convolution and a 5x3 kernel: the identity holds for any
    # grouping with stride 1 and 'same' padding.
    torch.manual_seed(1)
    x = torch.randn(1, 4, 17, 22)  # NCHW works too (the copies are then slower)
    weight = torch.randn(c_out, 4 // groups, *kernel)
    out = space_to_batch_conv2d(x, weight, None, (4, 6), groups)
    torch.testing.assert_close(out, reference(x, weight, None, (4, 6), groups),
                               rtol=1e-5, atol=1e-5)


def test_gradients_equal():
    torch.manual_seed(2)
    x = torch.randn(1, 4, 19, 26).contiguous(memory_format=torch.channels_last)
    weight, bias = torch.randn(4, 1, 3, 3), torch.randn(4)
    grads = []
    for fn in (space_to_batch_conv2d, reference):
        xs, ws, bs = (t.clone().requires_grad_() for t in (x, weight, bias))
        fn(xs, ws, bs, (9, 9), 4).square().sum().backward()
        grads.append((xs.grad, ws.grad, bs.grad))
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)


def test_bf16_close_to_fp32():
    torch.manual_seed(3)
    x = torch.randn(1, 8, 30, 40).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(8, 1, 3, 3)
    out = space_to_batch_conv2d(x.bfloat16(), weight.bfloat16(), None, (12, 12), 8)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), reference(x, weight, None, (12, 12), 8),
                               rtol=2e-2, atol=5e-2)


def test_even_kernel_is_refused():
    with pytest.raises(ValueError, match=r'odd kernel sizes, got \(2, 3\)'):
        space_to_batch_conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 3), None, (2, 2), 1)


def test_which_convolutions_qualify():
    assert runs_as_space_to_batch(nn.Conv2d(4, 4, 3, padding=12, dilation=12, groups=4))
    assert runs_as_space_to_batch(nn.Conv2d(4, 4, (5, 3), padding=(4, 2), dilation=2))
    assert not runs_as_space_to_batch(nn.Conv2d(4, 4, 3, padding=1))  # dilation 1: nothing won
    assert not runs_as_space_to_batch(nn.Conv2d(4, 4, 3, stride=2, padding=12, dilation=12))
    assert not runs_as_space_to_batch(nn.Conv2d(4, 4, 3, padding=6, dilation=12))  # 'valid'-ish
    assert not runs_as_space_to_batch(nn.Conv2d(4, 4, 3, padding=12, dilation=12,
                                                padding_mode='reflect'))
    assert not runs_as_space_to_batch(nn.Conv2d(4, 4, 2, padding=12, dilation=12))


def test_module_keeps_parameters_and_outputs():
    torch.manual_seed(4)
    conv = nn.Conv2d(6, 6, 3, padding=8, dilation=8, groups=6)
    keys = list(conv.state_dict())
    x = torch.randn(2, 6, 21, 18)
    with torch.no_grad():
        expected = conv(x)
        assert use_space_to_batch(conv) is conv
        assert type(conv) is SpaceToBatchConv2d and list(conv.state_dict()) == keys
        assert use_space_to_batch(conv) is conv  # converting twice is harmless
        nhwc = conv(x.contiguous(memory_format=torch.channels_last))
        nchw = conv(x)  # NCHW input: nn.Conv2d's own path, output NCHW
    torch.testing.assert_close(nhwc, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(nchw, expected, rtol=1e-5, atol=1e-5)
    assert nhwc.is_contiguous(memory_format=torch.channels_last) and nchw.is_contiguous()
    for twin in (copy.deepcopy(conv), pickle.loads(pickle.dumps(conv))):
        assert type(twin) is SpaceToBatchConv2d
        with torch.no_grad():
            torch.testing.assert_close(twin(x), expected, rtol=1e-5, atol=1e-5)


def test_conversion_errors_name_the_problem():
    with pytest.raises(ValueError, match=r'stride \(2, 2\)'):
        use_space_to_batch(nn.Conv2d(4, 4, 3, stride=2, padding=12, dilation=12, groups=4))

    class MyConv(nn.Conv2d):
        pass

    with pytest.raises(TypeError, match='got MyConv'):
        use_space_to_batch(MyConv(4, 4, 3, padding=12, dilation=12, groups=4))


def test_bf16_training_on_tiny_sub_images_runs_nchw(monkeypatch):
    # Dilation 12 on a 20x20 map: 2x2 sub-images, where the bf16 backward pass is slow; with
    # gradients recorded under bf16 autocast the convolution runs NCHW (the same values).
    import segdet.ops.space_to_batch as s2b
    torch.manual_seed(5)
    conv = nn.Conv2d(8, 8, 3, padding=12, dilation=12, groups=8)
    reference_conv = copy.deepcopy(conv)
    use_space_to_batch(conv).to(memory_format=torch.channels_last)
    x = torch.randn(2, 8, 20, 20).contiguous(memory_format=torch.channels_last)
    calls = []
    original = s2b.space_to_batch_conv2d
    monkeypatch.setattr(s2b, 'space_to_batch_conv2d',
                        lambda *args: calls.append(1) or original(*args))
    xs = x.clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = conv(xs)
    assert not calls and out.dtype == torch.bfloat16
    assert out.is_contiguous(memory_format=torch.channels_last)
    out.float().sum().backward()
    assert conv.weight.grad is not None and xs.grad.shape == x.shape
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        conv(x)  # inference: space-to-batch
    assert calls == [1]
    conv(x)  # fp32 with gradients: space-to-batch too
    assert calls == [1, 1]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        expected = reference_conv(x)
    torch.testing.assert_close(out.float(), expected.float(), rtol=2e-2, atol=2e-2)
