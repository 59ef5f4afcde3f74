"""APCHead (APCNet): the adaptive context matrix and the ACM against hand-computed values,
shapes, a loss-falls run and bad input."""
import math

import pytest
import torch
from segmentation_fixtures import assert_head_loss_falls, make_feats

from segdet.models.decode_heads import ACM, APCHead
from segdet.models.decode_heads.apc_head import adaptive_context

BN = dict(type='BN')
BIG = 100.0  # sigmoid(BIG) == 1 and sigmoid(-BIG) == 0 in float32 arithmetic


def make_head(**kwargs) -> APCHead:
    cfg = dict(in_channels=8, channels=4, pool_scales=(1, 2, 3), num_classes=3, norm_cfg=BN,
               dropout_ratio=0)
    return APCHead(**{**cfg, **kwargs})


def test_adaptive_context_hand_computed():
    # 2x2 regions (row-major bins k = 0..3); channel 1 is minus channel 0, image 1 is ten
    # times image 0. Three pixels:
    #   p0: only bin 1 (top right) switched on               -> region 1
    #   p1: all logits 0: every sigmoid is 1/2 (no softmax)  -> (1 + 2 + 3 + 4) / 2 = 5
    #   p2: bin 2 at ln 3 (0.75), bin 3 at -ln 3 (0.25)      -> 0.75 * 3 + 0.25 * 4 = 3.25
    regions = torch.tensor([[1., 2.], [3., 4.]])
    regions = torch.stack([regions, -regions])[None]                  # (1, 2, 2, 2)
    regions = torch.cat([regions, 10 * regions])                      # (2, 2, 2, 2)
    ln3 = math.log(3)
    logits = torch.tensor([[-BIG, BIG, -BIG, -BIG],
                           [0., 0., 0., 0.],
                           [-BIG, -BIG, ln3, -ln3]]).t().reshape(1, 4, 1, 3)
    logits = logits.expand(2, -1, -1, -1)
    image0 = torch.tensor([2., 5., 3.25])
    expected = torch.stack([torch.stack([image0, -image0]),
                            torch.stack([10 * image0, -10 * image0])]).reshape(2, 2, 1, 3)
    torch.testing.assert_close(adaptive_context(logits, regions), expected)


def test_adaptive_context_equals_the_matrix_product():
    # mmseg's form: (N, HW, S*S) sigmoid affinity matrix times the (N, S*S, C) regions
    logits, regions = make_feats([(2, 9, 4, 5), (2, 6, 3, 3)])
    affinity = logits.sigmoid().flatten(2).transpose(1, 2)           # (N, HW, S*S)
    expected = (affinity @ regions.flatten(2).transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(adaptive_context(logits, regions), expected.reshape(2, 6, 4, 5))


def test_acm_hand_computed():
    # one channel, every 1x1 ConvModule the identity (no norm, no activation) except
    # fusion_conv (x2); gla switches on bin 0 only, with logit x + mean(x) - 4.5.
    # x = [[1, 2], [3, 4]]: the 2x2 regions are x itself, mean(x) = 2.5, so the logits are
    # [[-1, 0], [1, 2]] and the context is sigmoid(logits) * region 0 (= 1);
    # out = 2 * relu(context + x).
    acm = ACM(pool_scale=2, fusion=True, in_channels=1, channels=1, conv_cfg=None,
              norm_cfg=None, act_cfg=None)
    with torch.no_grad():
        for conv in (acm.pooled_redu_conv.conv, acm.input_redu_conv.conv,
                     acm.global_info.conv, acm.residual_conv.conv, acm.fusion_conv.conv):
            conv.weight.fill_(1.)
            conv.bias.zero_()
        acm.fusion_conv.conv.weight.fill_(2.)
        acm.gla.weight.zero_()
        acm.gla.weight[0] = 1.
        acm.gla.bias.copy_(torch.tensor([-4.5, -BIG, -BIG, -BIG]))
    x = torch.tensor([[1., 2.], [3., 4.]]).reshape(1, 1, 2, 2)
    expected = 2 * (torch.sigmoid(torch.tensor([[-1., 0.], [1., 2.]])) + x)
    torch.testing.assert_close(acm(x), expected)


def test_state_dict_names_and_shapes():
    head = make_head(pool_scales=(1, 2))
    shapes = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    assert shapes['acm_modules.1.gla.weight'] == (4, 4, 1, 1)          # S * S = 4 bins
    assert shapes['acm_modules.0.fusion_conv.conv.weight'] == (4, 4, 1, 1)
    assert shapes['bottleneck.conv.weight'] == (4, 8 + 2 * 4, 3, 3)
    assert {k.split('.')[2] for k in shapes if k.startswith('acm_modules.0.')} == {
        'pooled_redu_conv', 'input_redu_conv', 'global_info', 'gla', 'residual_conv',
        'fusion_conv'}
    assert not any('fusion_conv' in k for k in make_head(fusion=False).state_dict())


@pytest.mark.parametrize('size', [(6, 6), (5, 7), (1, 1)])
def test_output_shape(size):
    head = make_head(pool_scales=(1, 2, 3, 6))
    head.eval()  # a 1x1 map cannot be batch-normalised in training
    with torch.no_grad():
        assert head(make_feats([(2, 8, *size)])).shape == (2, 3, *size)


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16))


def test_bad_input():
    with pytest.raises(TypeError, match='APCHead: pool_scales must be a list/tuple'):
        make_head(pool_scales=2)
    with pytest.raises(ValueError, match=r'APCHead: pool_scales entries must be >= 1, got \(0, '):
        make_head(pool_scales=(0, 2))
    with pytest.raises(TypeError, match='APCHead: in_channels must be an int'):
        make_head(in_channels=[8], in_index=[0], input_transform='multiple_select')
    with pytest.raises(IndexError, match='in_index=3'):
        make_head(in_index=3)(make_feats([(1, 8, 6, 6)]))
    with pytest.raises(ValueError, match='adaptive_context'):
        adaptive_context(torch.zeros(1, 4, 3, 3), torch.zeros(1, 2, 3, 3))
