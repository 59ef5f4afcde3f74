"""segdet.ops PSAMask (PSANet): hand-computed maps, mmcv's kernel restated as loops on small
random inputs (values and gradients), collect = distribute transposed, layouts, bad input."""
import pytest
import torch

from segdet.ops import PSAMask, psa_mask, psa_mask_matrix


def loop_reference(x: torch.Tensor, psa_type: str, mask_h: int, mask_w: int) -> torch.Tensor:
    """mmcv's CPU kernel, restated: every pixel, every in-map offset of its window."""
    n, _, height, width = x.shape
    half_h, half_w = (mask_h - 1) // 2, (mask_w - 1) // 2
    out = x.new_zeros(n, height * width, height, width)
    for h in range(height):
        for w in range(width):
            for i in range(max(0, half_h - h), min(mask_h, height + half_h - h)):
                for j in range(max(0, half_w - w), min(mask_w, width + half_w - w)):
                    th, tw = h + i - half_h, w + j - half_w
                    if psa_type == 'collect':
                        out[:, th * width + tw, h, w] = x[:, i * mask_w + j, h, w]
                    else:
                        out[:, h * width + w, th, tw] = x[:, i * mask_w + j, h, w]
    return out


def test_hand_computed_one_row():
    # 1x3 map, 1x3 window: channel j is the offset j - 1; pixel w holds 10 * w + j.
    x = torch.tensor([[[[0., 10., 20.]], [[1., 11., 21.]], [[2., 12., 22.]]]])
    # collect: out[t, s] = x[t - s + 1, s]; offsets that leave the map are 0
    collect = torch.tensor([[1., 10., 0.], [2., 11., 20.], [0., 12., 21.]])
    assert torch.equal(psa_mask(x, 'collect', (1, 3)), collect.view(1, 3, 1, 3))
    assert torch.equal(psa_mask(x, 'distribute', (1, 3)), collect.t().reshape(1, 3, 1, 3))


def test_hand_computed_two_by_two():
    # 3x3 window over a 2x2 map: channel (dh + 1) * 3 + (dw + 1) is the offset (dh, dw);
    # pixel s holds channel + 10 * s, so distribute's row s is ch(t - s) + 10 * s.
    x = (torch.arange(9.).view(1, 9, 1, 1) + 10 * torch.arange(4.).view(1, 1, 2, 2))
    distribute = torch.tensor([[4., 5., 7., 8.], [13., 14., 16., 17.],
                               [21., 22., 24., 25.], [30., 31., 33., 34.]])
    assert torch.equal(psa_mask(x, 'distribute', 3), distribute.view(1, 4, 2, 2))
    assert torch.equal(psa_mask(x, 'collect', (3, 3)), distribute.t().reshape(1, 4, 2, 2))
    assert torch.equal(psa_mask_matrix(x, (3, 3)), distribute.view(1, 4, 4))


# (H, W, mask_h, mask_w): windows smaller, larger, even-sized, 1x1, and wider than the map
SHAPES = [(3, 4, 3, 5), (5, 3, 4, 2), (4, 4, 9, 9), (2, 6, 1, 1), (1, 1, 1, 1), (6, 2, 11, 3)]


@pytest.mark.parametrize('psa_type', ['collect', 'distribute'])
@pytest.mark.parametrize('shape', SHAPES)
def test_equals_mmcv_kernel_loops(psa_type, shape):
    height, width, mask_h, mask_w = shape
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, mask_h * mask_w, height, width, generator=g)
    expected = loop_reference(x, psa_type, mask_h, mask_w)
    out = psa_mask(x, psa_type, (mask_h, mask_w))
    assert out.shape == (2, height * width, height, width) and out.is_contiguous()
    assert torch.equal(out, expected)
    # channels_last input (the fast layout): same values
    assert torch.equal(psa_mask(x.contiguous(memory_format=torch.channels_last), psa_type,
                                (mask_h, mask_w)), expected)


@pytest.mark.parametrize('psa_type', ['collect', 'distribute'])
def test_gradient_equals_mmcv_kernel_loops(psa_type):
    # mmcv's backward copies the output gradient back to each in-map offset; offsets that
    # leave the map get 0.
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, 15, 3, 4, generator=g)
    weights = torch.randn(1, 12, 3, 4, generator=g)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    (psa_mask(x1, psa_type, (3, 5)) * weights).sum().backward()
    (loop_reference(x2, psa_type, 3, 5) * weights).sum().backward()
    assert torch.equal(x1.grad, x2.grad)
    assert (x1.grad == 0).any()  # e.g. pixel (0, 0)'s offsets up and left


def test_collect_is_distribute_transposed():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 35, 4, 6, generator=g)
    collect = psa_mask(x, 'collect', (5, 7)).view(2, 24, 24)
    distribute = psa_mask(x, 'distribute', (5, 7)).view(2, 24, 24)
    assert torch.equal(collect, distribute.transpose(1, 2))
    assert torch.equal(psa_mask_matrix(x, (5, 7)), distribute)


def test_module_has_no_parameters_and_keeps_its_arguments():
    module = PSAMask('collect', (3, 5))
    assert list(module.state_dict()) == []
    assert module.psa_type == 'collect' and module.mask_size == (3, 5)
    assert 'psa_type=collect, mask_size=(3, 5)' in repr(module)
    x = torch.randn(1, 15, 2, 3)
    assert torch.equal(module(x), psa_mask(x, 'collect', (3, 5)))
    assert PSAMask('distribute', 3).mask_size == (3, 3)


def test_bad_input():
    with pytest.raises(ValueError, match=r'mask_size=\(3, 3\) does not fit the feature map '
                                         r'of shape \(1, 8, 4, 5\)'):
        psa_mask(torch.zeros(1, 8, 4, 5), 'collect', (3, 3))
    with pytest.raises(ValueError, match='mask_size'):
        PSAMask('distribute', (2, 2))(torch.zeros(1, 4, 5))  # not 4-D
    with pytest.raises(ValueError, match="psa_type must be one of .* got 'both'"):
        PSAMask('both', (3, 3))
    with pytest.raises(ValueError, match="got 'both'"):
        psa_mask(torch.zeros(1, 9, 2, 2), 'both', 3)
    with pytest.raises(ValueError, match=r'mask_size entries must be >= 1, got \(0, 3\)'):
        PSAMask('collect', (0, 3))
    with pytest.raises(TypeError, match='mask_size must be an int or a pair of ints'):
        PSAMask('collect', 3.0)
    with pytest.raises(TypeError, match='mask_size must be an int or a pair of ints'):
        PSAMask('collect', (3, 3, 3))
