"""Tests of segdet/models/decode_heads/lraspp_head.py."""
import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import make_feats

from segdet.models.decode_heads import LRASPPHead
from segdet.models.decode_heads.lraspp_head import ClampedAvgPool2d, clamped_avg_pool

BN = dict(type='BN')


def small_head(**kwargs) -> LRASPPHead:
    cfg = dict(in_channels=(4, 6, 8), in_index=(0, 1, 2), channels=8, branch_channels=(2, 3),
               input_transform='multiple_select', num_classes=5, norm_cfg=BN)
    return LRASPPHead(**{**cfg, **kwargs})


def test_clamped_avg_pool():
    big = torch.randn(1, 2, 64, 128)
    torch.testing.assert_close(clamped_avg_pool(big, (49, 49), (16, 20)),
                               F.avg_pool2d(big, 49, (16, 20)))  # mmseg's pooling
    assert clamped_avg_pool(big, (49, 49), (16, 20)).shape == (1, 2, 1, 4)
    small = torch.randn(1, 2, 8, 60)  # one side shorter than the window: averaged whole
    out = clamped_avg_pool(small, (49, 49), (16, 20))
    assert out.shape == (1, 2, 1, 1 + (60 - 49) // 20)
    torch.testing.assert_close(out[..., 0], small[..., :49].mean(dim=(2, 3))[..., None])
    assert ClampedAvgPool2d((49, 49), (16, 20))(small).shape == out.shape


@pytest.mark.parametrize('sizes', [((24, 20), (12, 10), (6, 5)), ((64, 64), (64, 64), (64, 64))])
def test_output_shapes(sizes):
    head = small_head().eval()
    feats = [torch.randn(2, c, *s) for c, s in zip((4, 6, 8), sizes)]
    with torch.no_grad():
        logits = head(feats)
    assert logits.shape == (2, 5, *sizes[0])  # at the first (shallowest) map's size


def test_structure_and_keys():
    head = small_head()
    assert [(c.in_channels, c.out_channels, c.bias) for c in head.convs] == [
        (4, 2, None), (6, 3, None)]
    assert [m.conv.in_channels for m in head.conv_ups] == [10, 11]
    assert head.image_pool[1].conv.in_channels == 8 and head.image_pool[1].conv.bias is None
    assert type(head.image_pool[1].activate).__name__ == 'Sigmoid'
    keys = {k for k in head.state_dict() if not k.startswith(('conv_seg', 'loss'))}
    assert {k.rsplit('.', 1)[0] for k in keys} == {
        'convs.conv0', 'convs.conv1', 'conv_ups.conv_up0.conv', 'conv_ups.conv_up0.bn',
        'conv_ups.conv_up1.conv', 'conv_ups.conv_up1.bn', 'conv_up_input',
        'aspp_conv.conv', 'aspp_conv.bn', 'image_pool.1.conv'}


def test_gate_by_hand():
    """With a zero image-pooling conv the gate is sigmoid(0) = 1/2 everywhere."""
    head = small_head(dropout_ratio=0).eval()
    feats = make_feats([(1, 4, 8, 8), (1, 6, 4, 4), (1, 8, 2, 2)])
    with torch.no_grad():
        head.image_pool[1].conv.weight.zero_()
        full = head._forward_feature(feats)
        x = feats[-1]
        expected = head.conv_up_input(head.aspp_conv(x) * 0.5)
        for i in (1, 0):
            expected = F.interpolate(expected, size=feats[i].shape[2:], mode='bilinear',
                                     align_corners=False)
            expected = head.conv_ups[i](torch.cat([expected, head.convs[i](feats[i])], 1))
    torch.testing.assert_close(full, expected)


def test_two_inputs():
    head = LRASPPHead(in_channels=(4, 8), in_index=(0, 1), channels=8, branch_channels=(3, ),
                      input_transform='multiple_select', num_classes=2, norm_cfg=BN).eval()
    with torch.no_grad():
        assert head(make_feats([(1, 4, 10, 10), (1, 8, 5, 5)])).shape == (1, 2, 10, 10)


def test_bad_input():
    with pytest.raises(ValueError, match="input_transform must be 'multiple_select', got "
                                         "'resize_concat'"):
        small_head(input_transform='resize_concat')
    with pytest.raises(ValueError, match=r'branch_channels=\(2,\) needs one entry per input map '
                                         r'but the deepest, i.e. 2'):
        small_head(branch_channels=(2, ))
    with pytest.raises(ValueError, match='branch_channels entries must be >= 1'):
        small_head(branch_channels=(2, 0))
    with pytest.raises(ValueError, match=r'LRASPPHead: in_channels=\[4, 6, 8\] does not match'):
        small_head()(make_feats([(1, 4, 8, 8), (1, 6, 4, 4), (1, 9, 2, 2)]))
