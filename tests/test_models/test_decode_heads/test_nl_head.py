"""NLHead (NonLocal Net): mmcv's NonLocal2d between the two convs under mmseg's names, the
block's maths, inside EncoderDecoder, a loss-falls run and bad input."""
import math

import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import (assert_head_loss_falls, assert_runs_in_encoder_decoder,
                                   make_feats)

from segdet.models.decode_heads import NLHead

BN = dict(type='BN')


def make_head(**kwargs) -> NLHead:
    cfg = dict(in_channels=8, channels=4, num_classes=3, norm_cfg=BN, dropout_ratio=0)
    return NLHead(**{**cfg, **kwargs})


def test_layers_and_names():
    head = make_head()
    names = {n.rsplit('.', 1)[0] for n in head.state_dict() if n.startswith('nl_block')}
    assert names == {'nl_block.g.conv', 'nl_block.theta.conv', 'nl_block.phi.conv',
                     'nl_block.conv_out.conv', 'nl_block.conv_out.bn'}
    assert head.nl_block.inter_channels == 2 and len(head.convs) == 2
    assert head.conv_cat.conv.in_channels == 8 + 4


def test_forward_is_convs_around_the_non_local_block():
    torch.manual_seed(0)
    head = make_head().eval()
    x = make_feats([(2, 8, 5, 6)])[0]
    with torch.no_grad():
        inner = head.convs[0](x)
        # conv_out's BN starts at zero: the block starts as the identity
        torch.testing.assert_close(head.nl_block(inner), inner)
        head.nl_block.conv_out.bn.weight.fill_(0.5)
        block = head.nl_block
        flat = inner.flatten(2)
        theta, phi, g = (m(inner).flatten(2) for m in (block.theta, block.phi, block.g))
        attn = F.softmax(torch.einsum('ncl,ncm->nlm', theta, phi) / math.sqrt(2), dim=-1)
        y = torch.einsum('nlm,ncm->ncl', attn, g).view(2, 2, 5, 6)
        torch.testing.assert_close(block(inner), flat.view_as(inner) + block.conv_out(y))
        feats = head.conv_cat(torch.cat([x, head.convs[1](block(inner))], dim=1))
        torch.testing.assert_close(head([x]), head.conv_seg(feats))


def test_in_encoder_decoder():
    assert_runs_in_encoder_decoder(
        dict(type='NLHead', in_channels=8, in_index=1, channels=4, num_classes=3, norm_cfg=BN),
        {'loss_ce', 'acc_seg'})


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16))


def test_bad_input():
    with pytest.raises(ValueError, match=r"NLHead: mode must be one of .* got 'cosine'"):
        make_head(mode='cosine')
    with pytest.raises(ValueError, match='NLHead: reduction must be >= 1, got 0'):
        make_head(reduction=0)
    with pytest.raises(TypeError, match='num_convs is fixed to 2'):
        make_head(num_convs=1)
    with pytest.raises(IndexError, match='in_index=2'):
        make_head(in_index=2)(make_feats([(1, 8, 4, 4)]))
    with pytest.raises(ValueError, match=r'NLHead: in_channels=\[8\] .* \[6\] channels'):
        make_head()(make_feats([(1, 6, 4, 4)]))
