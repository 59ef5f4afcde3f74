"""segdet.ops criss-cross attention (CCNet): equal to a dense attention masked to each pixel's
row and column (itself once) on random inputs, a hand-computed case, mmcv's parameters."""
import pytest
import torch
import torch.nn.functional as F

from segdet.ops import CrissCrossAttention, criss_cross_attention


def masked_full_attention(query, key, value):
    """Dense (HW x HW) dot-product attention allowing only the same row or column."""
    n, c, height, width = value.shape
    energy = torch.einsum('nci,ncj->nij', query.flatten(2), key.flatten(2))
    pos = torch.arange(height * width)
    same_row = (pos.view(-1, 1) // width) == (pos.view(1, -1) // width)
    same_col = (pos.view(-1, 1) % width) == (pos.view(1, -1) % width)
    attn = F.softmax(energy.masked_fill(~(same_row | same_col), float('-inf')), dim=-1)
    return torch.einsum('nij,ncj->nci', attn, value.flatten(2)).view(n, c, height, width)


@pytest.mark.parametrize('shape', [(2, 4, 5), (1, 1, 6), (1, 6, 1), (1, 7, 3), (2, 1, 1)])
def test_equals_masked_full_attention(shape):
    n, height, width = shape
    g = torch.Generator().manual_seed(0)
    q, k = (torch.randn(n, 3, height, width, generator=g) for _ in range(2))
    v = torch.randn(n, 5, height, width, generator=g)
    expected = masked_full_attention(q, k, v)
    torch.testing.assert_close(criss_cross_attention(q, k, v), expected)
    cl = [t.contiguous(memory_format=torch.channels_last) for t in (q, k, v)]
    torch.testing.assert_close(criss_cross_attention(*cl), expected)


def test_hand_computed_self_counted_once():
    # zero queries: equal weights over the row and column, the pixel itself once (3 of 2x2):
    # (0, 0) averages v00, v01, v10 = (1 + 2 + 3) / 3, and so on.
    v = torch.tensor([[1., 2.], [3., 4.]]).view(1, 1, 2, 2)
    q = torch.zeros(1, 1, 2, 2)
    k = torch.randn(1, 1, 2, 2)
    expected = torch.tensor([[6 / 3, 7 / 3], [8 / 3, 9 / 3]]).view(1, 1, 2, 2)
    torch.testing.assert_close(criss_cross_attention(q, k, v), expected)


def test_module_parameters_gamma_and_gradients():
    torch.manual_seed(0)
    cca = CrissCrossAttention(16)
    assert {k: tuple(v.shape) for k, v in cca.state_dict().items()} == {
        'query_conv.weight': (2, 16, 1, 1), 'query_conv.bias': (2, ),
        'key_conv.weight': (2, 16, 1, 1), 'key_conv.bias': (2, ),
        'value_conv.weight': (16, 16, 1, 1), 'value_conv.bias': (16, ),
        'gamma.scale': ()}
    x = torch.randn(2, 16, 5, 4, requires_grad=True)
    torch.testing.assert_close(cca(x), x)  # gamma starts at 0
    with torch.no_grad():
        cca.gamma.scale.fill_(0.7)
    expected = 0.7 * masked_full_attention(cca.query_conv(x), cca.key_conv(x),
                                           cca.value_conv(x)) + x
    out = cca(x)
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and cca.query_conv.weight.grad.abs().sum() > 0
    assert 'in_channels=16' in repr(cca)


def test_bad_input():
    with pytest.raises(ValueError, match='in_channels must be >= 8.*got 4'):
        CrissCrossAttention(4)
    with pytest.raises(TypeError, match='in_channels must be an int, got float 8.0'):
        CrissCrossAttention(8.0)
