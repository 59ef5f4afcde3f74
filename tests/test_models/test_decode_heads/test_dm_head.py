"""DMHead (DMNet): the dynamic per-image filters (batch folded into the groups of one
convolution, odd and even filter sizes with mmseg's padding) and the DCM against
hand-computed values, shapes, a loss-falls run and bad input."""
import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import assert_head_loss_falls, make_feats

from segdet.models.decode_heads import DCM, DMHead
from segdet.models.decode_heads.dm_head import dynamic_depthwise_conv, dynamic_filter_padding

BN = dict(type='BN')
X = torch.arange(1., 10.).reshape(3, 3)   # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def make_head(**kwargs) -> DMHead:
    cfg = dict(in_channels=8, channels=4, filter_sizes=(1, 2, 3), num_classes=3, norm_cfg=BN,
               dropout_ratio=0)
    return DMHead(**{**cfg, **kwargs})


def one_hot_filter(k: int, u: int, v: int) -> torch.Tensor:
    f = torch.zeros(k, k)
    f[u, v] = 1.
    return f


@pytest.mark.parametrize('k, pads', [(1, (0, 0, 0, 0)), (2, (1, 0, 1, 0)), (3, (1, 1, 1, 1)),
                                     (4, (2, 1, 2, 1)), (5, (2, 2, 2, 2)), (7, (3, 3, 3, 3))])
def test_padding(k, pads):
    # (left, right, top, bottom): even sizes pad one more before than after
    assert dynamic_filter_padding(k) == pads
    assert pads[0] + pads[1] == k - 1


def test_even_and_odd_filters_hand_computed():
    # a one-hot filter at (u, v) with padding (left=top=p) reads x[i + u - p, j + v - p]
    cases = [  # (k, u, v, expected output for X)
        (1, 0, 0, X),
        (2, 0, 0, [[0, 0, 0], [0, 1, 2], [0, 4, 5]]),      # x[i-1, j-1]
        (2, 1, 1, X),                                      # the pixel itself
        (2, 0, 1, [[0, 0, 0], [1, 2, 3], [4, 5, 6]]),      # x[i-1, j]
        (3, 0, 0, [[0, 0, 0], [0, 1, 2], [0, 4, 5]]),      # x[i-1, j-1]
        (3, 1, 1, X),
        (3, 2, 2, [[5, 6, 0], [8, 9, 0], [0, 0, 0]]),      # x[i+1, j+1]
        (4, 0, 0, [[0, 0, 0], [0, 0, 0], [0, 0, 1]]),      # x[i-2, j-2]
        (4, 3, 3, [[5, 6, 0], [8, 9, 0], [0, 0, 0]]),      # x[i+1, j+1]
        (4, 2, 2, X),
    ]
    for k, u, v, expected in cases:
        out = dynamic_depthwise_conv(X[None, None], one_hot_filter(k, u, v)[None, None])
        torch.testing.assert_close(out[0, 0], torch.as_tensor(expected, dtype=torch.float),
                                   msg=f'k={k}, filter one at ({u}, {v})')


def test_every_image_and_channel_has_its_own_filter():
    # batch 2, 2 channels: four different filters, no mixing across images or channels
    x = torch.stack([torch.stack([X, 10 * X]), torch.stack([-X, torch.ones(3, 3)])])
    filters = torch.stack([
        torch.stack([one_hot_filter(2, 0, 0), one_hot_filter(2, 1, 1)]),
        torch.stack([one_hot_filter(2, 0, 1), torch.ones(2, 2)])])
    expected = torch.tensor([
        [[[0., 0, 0], [0, 1, 2], [0, 4, 5]],                 # x[i-1, j-1]
         (10 * X).tolist()],                                 # identity
        [[[0., 0, 0], [-1, -2, -3], [-4, -5, -6]],           # x[i-1, j] of -X
         [[1., 2, 2], [2, 4, 4], [2, 4, 4]]]])               # 2x2 window sums of ones
    torch.testing.assert_close(dynamic_depthwise_conv(x, filters), expected)


@pytest.mark.parametrize('k', [1, 2, 3, 4, 5, 6])
def test_equals_a_per_image_convolution(k):
    # the batch-folded grouped conv equals filtering each image on its own
    x, filters = make_feats([(3, 4, 5, 6), (3, 4, k, k)])
    expected = torch.cat([
        F.conv2d(F.pad(x[n:n + 1], dynamic_filter_padding(k)), filters[n][:, None], groups=4)
        for n in range(3)])
    torch.testing.assert_close(dynamic_depthwise_conv(x, filters), expected)


def test_dcm_hand_computed():
    # one channel, identity input projection, filter_gen_conv weight 1 bias 0, no norm, no
    # activation. X average-pooled to 2x2 (overlapping bins rows/cols {0, 1} and {1, 2}):
    # f = [[3, 4], [6, 7]]; with the even padding out[i, j] =
    # 3 x[i-1, j-1] + 4 x[i-1, j] + 6 x[i, j-1] + 7 x[i, j]. Image 1 is 2 X: its filter is
    # 2 f, so its output is 4 times image 0's.
    dcm = DCM(filter_size=2, fusion=False, in_channels=1, channels=1, conv_cfg=None,
              norm_cfg=None, act_cfg=None)
    with torch.no_grad():
        for conv in (dcm.filter_gen_conv, dcm.input_redu_conv.conv):
            conv.weight.fill_(1.)
            conv.bias.zero_()
    out0 = torch.tensor([[7., 20, 33], [32, 70, 90], [65, 130, 150]])
    x = torch.stack([X, 2 * X])[:, None]
    torch.testing.assert_close(dcm(x), torch.stack([out0, 4 * out0])[:, None])


def test_state_dict_names_and_shapes():
    shapes = {k: tuple(v.shape) for k, v in make_head().state_dict().items()}
    assert shapes['dcm_modules.2.filter_gen_conv.weight'] == (4, 8, 1, 1)
    assert shapes['dcm_modules.2.filter_gen_conv.bias'] == (4, )
    assert shapes['dcm_modules.0.norm.weight'] == (4, )
    assert shapes['bottleneck.conv.weight'] == (4, 8 + 3 * 4, 3, 3)
    assert not any('fusion_conv' in k for k in shapes)
    assert any('fusion_conv' in k for k in make_head(fusion=True).state_dict())


@pytest.mark.parametrize('size', [(6, 6), (5, 7), (2, 3)])
def test_output_shape(size):
    head = make_head(filter_sizes=(1, 2, 3, 4, 5, 7))
    assert head(make_feats([(2, 8, *size)])).shape == (2, 3, *size)


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16))


def test_bad_input():
    with pytest.raises(TypeError, match='DMHead: filter_sizes must be a list/tuple'):
        make_head(filter_sizes=3)
    with pytest.raises(ValueError, match=r'DMHead: filter_sizes entries must be >= 1, got \[1, 0'):
        make_head(filter_sizes=[1, 0])
    with pytest.raises(TypeError, match='DMHead: in_channels must be an int'):
        make_head(in_channels=[8], in_index=[0], input_transform='multiple_select')
    with pytest.raises(IndexError, match='in_index=2'):
        make_head(in_index=2)(make_feats([(1, 8, 6, 6)]))
    with pytest.raises(ValueError, match=r'filters must be \(N, C, k, k\).*got \(2, 4, 3, 2\)'):
        dynamic_depthwise_conv(torch.zeros(2, 4, 5, 5), torch.zeros(2, 4, 3, 2))
    with pytest.raises(ValueError, match='got \\(1, 4, 3, 3\\)'):
        dynamic_depthwise_conv(torch.zeros(2, 4, 5, 5), torch.zeros(1, 4, 3, 3))
