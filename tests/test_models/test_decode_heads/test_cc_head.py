"""CCHead (CCNet): the forward as mmseg composes it (convs.0, the shared criss-cross attention
``recurrence`` times, convs.1, conv_cat), mmseg's state-dict names, a loss-falls run and bad
input. The attention's maths is tested in tests/test_ops/test_cc_attention.py."""
import pytest
import torch
from segmentation_fixtures import assert_head_loss_falls, make_feats

from segdet.models.decode_heads import CCHead

BN = dict(type='BN')


def make_head(**kwargs) -> CCHead:
    cfg = dict(in_channels=8, channels=8, num_classes=3, norm_cfg=BN, dropout_ratio=0)
    return CCHead(**{**cfg, **kwargs})


@pytest.mark.parametrize('recurrence,concat_input', [(2, True), (1, False), (0, True)])
def test_forward_composition(recurrence, concat_input):
    torch.manual_seed(0)
    head = make_head(recurrence=recurrence, concat_input=concat_input).eval()
    with torch.no_grad():
        head.cca.gamma.scale.fill_(0.5)  # non-zero: the attention contributes
    x = make_feats([(2, 8, 5, 7)])[0]
    feats = head.convs[0](x)
    for _ in range(recurrence):
        feats = head.cca(feats)
    feats = head.convs[1](feats)
    if concat_input:
        feats = head.conv_cat(torch.cat([x, feats], 1))
    out = head([x])
    assert out.shape == (2, 3, 5, 7)
    torch.testing.assert_close(out, head.cls_seg(feats))


def test_state_dict_names():
    keys = set(make_head().state_dict())
    assert {'convs.0.conv.weight', 'convs.1.conv.weight', 'conv_cat.conv.weight',
            'cca.query_conv.weight', 'cca.key_conv.bias', 'cca.value_conv.weight',
            'cca.gamma.scale', 'conv_seg.weight'} <= keys
    assert make_head(channels=16).cca.query_conv.weight.shape == (2, 16, 1, 1)


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16))


def test_bad_input():
    with pytest.raises(TypeError, match='num_convs is always 2, got num_convs=1'):
        make_head(num_convs=1)
    with pytest.raises(ValueError, match='recurrence must be >= 0, got -1'):
        make_head(recurrence=-1)
    with pytest.raises(ValueError, match='CCHead: channels must be >= 8.*got 4'):
        make_head(channels=4)
