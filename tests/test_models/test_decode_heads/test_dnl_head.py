"""DNLHead (DNLNet): the whitened pairwise term and the unary term against hand-computed values
and plain loops, mmseg's names, a loss-falls run and bad input."""
import math

import pytest
import torch
from segmentation_fixtures import assert_head_loss_falls, make_feats

from segdet.models.decode_heads import DisentangledNonLocal2d, DNLHead
from segdet.models.decode_heads.dnl_head import tempered_affinity, unary_context, whiten

BN = dict(type='BN')


def make_head(**kwargs) -> DNLHead:
    cfg = dict(in_channels=8, channels=4, num_classes=3, norm_cfg=BN, dropout_ratio=0)
    return DNLHead(**{**cfg, **kwargs})


def test_whitened_pairwise_hand_computed():
    # one channel, two positions: theta (1, 3) -> (-1, 1), phi (0, 2) -> (-1, 1); products
    # [[1, -1], [-1, 1]], / sqrt(1) / T=0.5 -> [[2, -2], [-2, 2]]; each row's softmax is
    # (1, e^-4) / (1 + e^-4) with the larger weight on the diagonal
    theta, phi = torch.tensor([[[1.], [3.]]]), torch.tensor([[[0., 2.]]])
    w_theta, w_phi = whiten(theta, phi)
    torch.testing.assert_close(w_theta, torch.tensor([[[-1.], [1.]]]))
    torch.testing.assert_close(w_phi, torch.tensor([[[-1., 1.]]]))
    a, b = 1 / (1 + math.exp(-4)), math.exp(-4) / (1 + math.exp(-4))
    torch.testing.assert_close(tempered_affinity(w_theta, w_phi, 0.5, use_scale=True),
                               torch.tensor([[[a, b], [b, a]]]))
    # whitening removes any per-channel offset of the queries or keys
    torch.testing.assert_close(whiten(theta + 7, phi - 3), (w_theta, w_phi))


def test_unary_term_hand_computed():
    g = torch.tensor([[[1., 10.], [3., 20.], [5., 60.]]])  # (N=1, L=3, C=2)
    # equal mask logits: the plain mean of g over the positions
    torch.testing.assert_close(unary_context(torch.zeros(1, 1, 1, 3), g),
                               torch.tensor([3., 30.]).view(1, 2, 1, 1))
    # logits (0, ln 2, ln 5): weights (1, 2, 5) / 8
    logits = torch.tensor([0., math.log(2), math.log(5)]).view(1, 1, 1, 3)
    torch.testing.assert_close(unary_context(logits, g),
                               torch.tensor([(1 + 6 + 25) / 8, (10 + 40 + 300) / 8]).view(
                                   1, 2, 1, 1))


def dnl_by_loops(block: DisentangledNonLocal2d, x: torch.Tensor) -> torch.Tensor:
    """The disentangled non-local block written out position by position (1x1 convs as sums)."""
    n, c, h, w = x.shape
    inter, length = block.inter_channels, h * w
    flat = x.reshape(n, c, length)

    def conv1x1(conv, b, p):
        weight, bias = conv.weight[:, :, 0, 0], conv.bias
        return [sum(weight[o, i] * flat[b, i, p] for i in range(c)) + bias[o]
                for o in range(weight.shape[0])]

    out = torch.empty_like(flat)
    for b in range(n):
        g = [conv1x1(block.g.conv, b, p) for p in range(length)]
        theta = [conv1x1(block.theta.conv, b, p) for p in range(length)]
        phi = [conv1x1(block.phi.conv, b, p) for p in range(length)]
        mean_t = [sum(t[o] for t in theta) / length for o in range(inter)]
        mean_p = [sum(q[o] for q in phi) / length for o in range(inter)]
        mask = [conv1x1(block.conv_mask, b, p)[0] for p in range(length)]
        mask_e = [math.exp(m - max(mask)) for m in mask]
        unary = [sum(mask_e[j] * g[j][o] for j in range(length)) / sum(mask_e)
                 for o in range(inter)]
        for i in range(length):
            logits = [sum((theta[i][o] - mean_t[o]) * (phi[j][o] - mean_p[o])
                          for o in range(inter)) / math.sqrt(inter) / block.temperature
                      for j in range(length)]
            e = [math.exp(v - max(logits)) for v in logits]
            z = [sum(e[j] * g[j][o] for j in range(length)) / sum(e) + unary[o]
                 for o in range(inter)]
            weight, bias = block.conv_out.conv.weight[:, :, 0, 0], block.conv_out.conv.bias
            for o in range(c):
                out[b, o, i] = flat[b, o, i] + sum(weight[o, k] * z[k] for k in
                                                   range(inter)) + bias[o]
    return out.reshape(n, c, h, w)


def test_block_equals_the_loops():
    torch.manual_seed(0)
    block = DisentangledNonLocal2d(in_channels=4, temperature=0.5, reduction=2).double()
    assert block.conv_out.conv.bias is not None  # no norm: a plain conv with bias
    with torch.no_grad():
        for p in block.parameters():
            p.normal_()
    x = torch.randn(2, 4, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(block(x), dnl_by_loops(block, x))


def test_head_names_and_wiring():
    torch.manual_seed(0)
    head = make_head().eval()
    assert {n.rsplit('.', 1)[0] for n in head.state_dict() if n.startswith('dnl_block')} == {
        'dnl_block.g.conv', 'dnl_block.theta.conv', 'dnl_block.phi.conv',
        'dnl_block.conv_out.conv', 'dnl_block.conv_out.bn', 'dnl_block.conv_mask'}
    assert head.dnl_block.temperature == 0.05 and head.dnl_block.inter_channels == 2
    x = make_feats([(2, 8, 3, 4)])[0]
    with torch.no_grad():
        inner = head.convs[0](x)
        torch.testing.assert_close(head.dnl_block(inner), inner)  # conv_out's BN starts at 0
        head.dnl_block.conv_out.bn.weight.fill_(1.)
        feats = head.conv_cat(torch.cat([x, head.convs[1](head.dnl_block(inner))], dim=1))
        torch.testing.assert_close(head([x]), head.conv_seg(feats))


@pytest.mark.parametrize('mode', ['gaussian', 'dot_product', 'concatenation'])
def test_other_pairwise_modes_run_and_leave_the_input_alone(mode):
    block = DisentangledNonLocal2d(in_channels=4, temperature=0.1, mode=mode)
    x = torch.randn(1, 4, 3, 3)
    before = x.clone()
    assert block(x).shape == x.shape
    torch.testing.assert_close(x, before)


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16))


def test_bad_input():
    with pytest.raises(ValueError, match='DNLHead: temperature must be a number > 0, got 0'):
        make_head(temperature=0)
    with pytest.raises(ValueError, match="DNLHead: mode must be one of .* got 'cosine'"):
        make_head(mode='cosine')
    with pytest.raises(ValueError, match='DNLHead: reduction must be >= 1, got 0'):
        make_head(reduction=0)
    with pytest.raises(TypeError, match='DNLHead: num_convs is fixed to 2'):
        make_head(num_convs=3)
    with pytest.raises(ValueError, match=r'DNLHead: in_channels=\[8\] .* \[2\] channels'):
        make_head()(make_feats([(1, 2, 4, 4)]))
