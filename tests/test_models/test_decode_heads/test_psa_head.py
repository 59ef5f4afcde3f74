"""PSAHead (PSANet): the over-completed map collection against hand-computed values, the head
equal to mmseg's forward restated on the public PSAMask for every psa_type, compact,
shrink_factor, normalization_factor and psa_softmax, a loss-falls run and bad input."""
import math

import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import assert_head_loss_falls, make_feats

from segdet.models.decode_heads import PSAHead
from segdet.models.decode_heads.psa_head import psa_aggregate, shrunk_size
from segdet.models.utils import resize
from segdet.ops import psa_mask, psa_mask_matrix

BN = dict(type='BN')

# 1x3 map, 1x3 window (channel j = offset j - 1), pixel w's mask values 10 * w + j:
# collect map y[t, s] (rows: positions read, columns: pixels), distribute = its transpose.
MASKS = torch.tensor([[[[0., 10., 20.]], [[1., 11., 21.]], [[2., 12., 22.]]]])
COLLECT = torch.tensor([[1., 10., 0.], [2., 11., 20.], [0., 12., 21.]])
FEATS = torch.tensor([1., 2., 3.]).view(1, 1, 1, 3)


def make_head(**kwargs) -> PSAHead:
    cfg = dict(in_channels=8, channels=4, mask_size=(5, 5), num_classes=3, norm_cfg=BN,
               dropout_ratio=0)
    return PSAHead(**{**cfg, **kwargs})


def test_over_completed_map_collection_hand_computed():
    matrix = psa_mask_matrix(MASKS, (1, 3))                     # (s, t): distribute layout
    assert torch.equal(matrix[0], COLLECT.t())
    # collect, no softmax: out[s] = sum_t f[t] y[t, s]: 1*1 + 2*2, 1*10 + 2*11 + 3*12, ...
    out = psa_aggregate(FEATS, matrix, transpose=True, softmax=False, normalization_factor=1)
    assert torch.equal(out.flatten(), torch.tensor([5., 68., 103.]))
    # distribute: out[t] = sum_s f[s] y_d[s, t] with y_d = COLLECT^T; halved
    out = psa_aggregate(FEATS, matrix, transpose=False, softmax=False, normalization_factor=2)
    assert torch.equal(out.flatten(), torch.tensor([21., 84., 87.]) / 2)
    # softmax over the positions read: the zero of an offset outside the map still counts
    # (exp(0) = 1), as in mmseg: pixel 0 reads (1, 2, 3) with weights (e, e^2, 1)
    out = psa_aggregate(FEATS, matrix, transpose=True, softmax=True, normalization_factor=1)
    e, e2 = math.e, math.exp(2)
    assert math.isclose(out.flatten()[0].item(), (e + 2 * e2 + 3) / (e + e2 + 1), rel_tol=1e-6)


def test_shrunk_size_follows_mmseg():
    assert shrunk_size(64, 128, 2, False) == (32, 64, False)
    assert shrunk_size(97, 97, 2, False) == (49, 49, True)       # both odd: ceil, corners
    assert shrunk_size(97, 128, 2, True) == (48, 64, False)      # one odd: floor
    assert shrunk_size(5, 7, 1, True) == (5, 7, True)             # no shrink: head's flag


def mmseg_forward(head: PSAHead, x: torch.Tensor) -> torch.Tensor:
    """mmseg 1.2.2's PSAHead.forward restated on the public psa_mask (mmcv's semantics)."""
    def shrink(t):
        h, w, corners = shrunk_size(*t.shape[2:], head.shrink_factor, head.align_corners)
        if head.shrink_factor != 1:
            t = resize(t, size=(h, w), mode='bilinear', align_corners=corners)
        return t, corners

    def branch(t, attention, psa_type, transpose_compact):
        n, c, h, w = t.shape
        y = attention(t)
        if head.compact:
            if transpose_compact:
                y = y.view(n, h * w, h * w).transpose(1, 2).reshape(n, h * w, h, w)
        else:
            y = psa_mask(y, psa_type, head.mask_hw)
        if head.psa_softmax:
            y = F.softmax(y, dim=1)
        return torch.bmm(t.view(n, c, h * w), y.reshape(n, h * w, h * w)).view(
            n, c, h, w) * (1.0 / head.normalization_factor)

    if head.psa_type == 'bi-direction':
        x_col, corners = shrink(head.reduce(x))
        x_dis, _ = shrink(head.reduce_p(x))
        out = torch.cat([branch(x_col, head.attention, 'collect', False),
                         branch(x_dis, head.attention_p, 'distribute', True)], 1)
    else:
        out, corners = shrink(head.reduce(x))
        out = branch(out, head.attention, head.psa_type, head.psa_type == 'collect')
    out = resize(head.proj(out), size=x.shape[2:], mode='bilinear', align_corners=corners)
    return head.cls_seg(head.bottleneck(torch.cat([x, out], 1)))


CASES = {
    'bi-direction': (dict(), (7, 9)),
    'collect': (dict(psa_type='collect'), (6, 8)),
    'distribute': (dict(psa_type='distribute'), (6, 8)),
    'odd map, no softmax, factor None': (
        dict(psa_softmax=False, normalization_factor=None, mask_size=(7, 3)), (7, 9)),
    'no shrink': (dict(psa_type='collect', shrink_factor=1, align_corners=True), (5, 6)),
    'compact bi-direction': (dict(compact=True, mask_size=(3, 4)), (6, 8)),
    'compact collect': (dict(compact=True, psa_type='collect', mask_size=(4, 3)), (6, 8)),
    'compact distribute': (dict(compact=True, psa_type='distribute', mask_size=(2, 6)),
                           (6, 8)),
}


# mmseg's proj pads by 1, so the align_corners=True resize back never lands on the grid
@pytest.mark.filterwarnings('ignore:When align_corners=True')
@pytest.mark.parametrize('name', sorted(CASES))
def test_equals_mmseg_forward(name):
    torch.manual_seed(0)
    kwargs, (h, w) = CASES[name]
    head = make_head(**kwargs).eval()
    feats = make_feats([(2, 8, h, w)])
    with torch.no_grad():
        for m in head.modules():  # non-trivial BN statistics
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2)
        out = head(feats)
        assert out.shape == (2, 3, h, w)
        torch.testing.assert_close(out, mmseg_forward(head, feats[0]), rtol=1e-4, atol=1e-5)


def test_modules_and_state_dict_names():
    keys = set(make_head().state_dict())
    assert {'reduce.conv.weight', 'reduce_p.conv.weight', 'attention.0.conv.weight',
            'attention.1.weight', 'attention_p.1.weight', 'proj.conv.weight',
            'bottleneck.conv.weight', 'conv_seg.weight'} <= keys
    assert make_head().attention[1].weight.shape == (25, 4, 1, 1)
    single = set(make_head(psa_type='distribute').state_dict())
    assert not any(k.startswith(('reduce_p', 'attention_p')) for k in single)
    assert make_head(psa_type='collect').proj.conv.weight.shape == (8, 4, 1, 1)


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16, mask_size=(7, 7)))


def test_bad_input():
    # compact maps need mask_h * mask_w == h * w of the shrunk (here 3x4) map
    with pytest.raises(ValueError, match=r'mask_size=\(5, 5\) does not fit the feature map.*'
                                         r'got a 3x4 map'):
        make_head(compact=True)(make_feats([(1, 8, 6, 8)]))
    with pytest.raises(ValueError, match="psa_type must be one of .* got 'both'"):
        make_head(psa_type='both')
    with pytest.raises(ValueError, match=r'mask_size must be \(mask_h, mask_w\), got \(5,\)'):
        make_head(mask_size=(5, ))
    with pytest.raises(TypeError, match='mask_size'):
        make_head(mask_size=5)
    with pytest.raises(ValueError, match='mask_size entries must be >= 1'):
        make_head(mask_size=(0, 5))
    with pytest.raises(ValueError, match='shrink_factor must be >= 1, got 0'):
        make_head(shrink_factor=0)
    with pytest.raises(ValueError, match='normalization_factor must be > 0, got 0'):
        make_head(normalization_factor=0)
    with pytest.raises(TypeError, match='normalization_factor must be a number or None'):
        make_head(normalization_factor='1')
