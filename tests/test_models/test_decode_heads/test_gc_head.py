"""GCHead (GCNet): mmcv's ContextBlock between the two convs under mmseg's names, the block's
maths, a loss-falls run and bad input."""
import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import assert_head_loss_falls, make_feats

from segdet.models.decode_heads import GCHead

BN = dict(type='BN')


def make_head(**kwargs) -> GCHead:
    cfg = dict(in_channels=8, channels=8, num_classes=3, norm_cfg=BN, dropout_ratio=0)
    return GCHead(**{**cfg, **kwargs})


def test_layers_and_names():
    head = make_head()
    assert {n for n in head.state_dict() if n.startswith('gc_block')} == {
        'gc_block.conv_mask.weight', 'gc_block.conv_mask.bias',
        'gc_block.channel_add_conv.0.weight', 'gc_block.channel_add_conv.0.bias',
        'gc_block.channel_add_conv.1.weight', 'gc_block.channel_add_conv.1.bias',
        'gc_block.channel_add_conv.3.weight', 'gc_block.channel_add_conv.3.bias'}
    assert head.gc_block.planes == 2 and len(head.convs) == 2


def test_forward_is_convs_around_the_context_block():
    torch.manual_seed(0)
    head = make_head().eval()
    x = make_feats([(2, 8, 3, 5)])[0]
    block = head.gc_block
    with torch.no_grad():
        inner = head.convs[0](x)
        torch.testing.assert_close(block(inner), inner)  # the last conv starts at zero
        torch.nn.init.normal_(block.channel_add_conv[3].weight)
        # attention pooling: one context per image, softmax weights from conv_mask
        weights = F.softmax(block.conv_mask(inner).flatten(2), dim=-1)           # (N, 1, L)
        context = torch.einsum('nl,ncl->nc', weights[:, 0], inner.flatten(2))[..., None, None]
        torch.testing.assert_close(block(inner), inner + block.channel_add_conv(context))
        feats = head.conv_cat(torch.cat([x, head.convs[1](block(inner))], dim=1))
        torch.testing.assert_close(head([x]), head.conv_seg(feats))


def test_avg_pooling_and_channel_mul():
    head = make_head(pooling_type='avg', fusion_types=['channel_mul'])
    assert not hasattr(head.gc_block, 'conv_mask') and head.gc_block.channel_add_conv is None
    assert head(make_feats([(2, 8, 4, 4)])).shape == (2, 3, 4, 4)


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    assert_head_loss_falls(make_head(in_channels=4, channels=16))


def test_bad_input():
    with pytest.raises(ValueError, match="GCHead: pooling_type must be one of .* got 'max'"):
        make_head(pooling_type='max')
    with pytest.raises(ValueError, match=r"GCHead: fusion_types .* got \('channel_cat',\)"):
        make_head(fusion_types=('channel_cat', ))
    with pytest.raises(ValueError, match=r'GCHead: fusion_types .* got \(\)'):
        make_head(fusion_types=())
    with pytest.raises(TypeError, match="GCHead: fusion_types .* got 'channel_add'"):
        make_head(fusion_types='channel_add')
    with pytest.raises(ValueError, match='GCHead: ratio .* got ratio=0.1 with channels=8'):
        make_head(ratio=0.1)
    with pytest.raises(ValueError, match=r'GCHead: in_channels=\[8\] .* \[4\] channels'):
        make_head()(make_feats([(1, 4, 4, 4)]))
