"""UPerHead: the top-down path on hand-computed maps, shapes, training and bad input."""
import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import (assert_head_loss_falls, assert_uniform_loss, make_feats,
                                   make_labels, make_samples, zero_classifier)

from segdet.models.decode_heads import UPerHead
from segdet.models.decode_heads.uper_head import top_down_sum

# 2 -> 4 bilinear upsampling (align_corners=False) along one axis: output i samples input
# position (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
UP_2_TO_4 = torch.tensor([[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]])
# Level 0 of the top-down sum of the three maps in `three_levels` (worked by hand):
# level 1 + 2 = [[3, 2], [2, 2]], then UP_2_TO_4 @ it @ UP_2_TO_4.T.
HAND_TOP_DOWN = torch.tensor([[3.0, 2.75, 2.25, 2.0],
                              [2.75, 2.5625, 2.1875, 2.0],
                              [2.25, 2.1875, 2.0625, 2.0],
                              [2.0, 2.0, 2.0, 2.0]])


def three_levels(level0: float = 0.0) -> list[torch.Tensor]:
    """(1, 1, 4, 4) filled with ``level0``, (1, 1, 2, 2) [[1, 0], [0, 0]], (1, 1, 1, 1) 2."""
    return [torch.full((1, 1, 4, 4), level0),
            torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(1, 1, 2, 2),
            torch.full((1, 1, 1, 1), 2.0)]


def make_head(**kwargs) -> UPerHead:
    cfg = dict(in_channels=[4, 8, 16, 32], in_index=[0, 1, 2, 3], channels=8, num_classes=3,
               pool_scales=(1, 2, 3), norm_cfg=dict(type='BN'), dropout_ratio=0)
    cfg.update(kwargs)
    return UPerHead(**cfg)


def pyramid(n: int = 2, size: int = 16) -> list[torch.Tensor]:
    """ResNet-like maps at strides 1, 2, 4, 8 of ``size``."""
    return make_feats([(n, 4, size, size), (n, 8, size // 2, size // 2),
                       (n, 16, size // 4, size // 4), (n, 32, size // 8, size // 8)])


def test_top_down_sum_on_a_hand_made_case():
    assert torch.allclose(UP_2_TO_4 @ torch.eye(2) @ UP_2_TO_4.T,
                          F.interpolate(torch.eye(2).view(1, 1, 2, 2), size=(4, 4),
                                        mode='bilinear', align_corners=False)[0, 0])
    levels = three_levels()
    copies = [x.clone() for x in levels]
    outs = top_down_sum(levels, align_corners=False)
    torch.testing.assert_close(outs[2], levels[2])
    torch.testing.assert_close(outs[1][0, 0], torch.tensor([[3.0, 2.0], [2.0, 2.0]]))
    torch.testing.assert_close(outs[0][0, 0], HAND_TOP_DOWN)
    for x, copy in zip(levels, copies):  # the laterals are not modified in place
        torch.testing.assert_close(x, copy)


def _set_identity(conv: torch.nn.Conv2d, weights=(1.0, )) -> None:
    """Output channel 0 = sum_c weights[c] * input channel c at the same pixel."""
    with torch.no_grad():
        conv.weight.zero_()
        k = conv.kernel_size[0] // 2
        for c, w in enumerate(weights):
            conv.weight[0, c, k, k] = w
        conv.bias.zero_()


def test_forward_feature_on_a_hand_made_case():
    """One channel everywhere, no norm / activation, convs set to pick channels: the fused
    feature is fpn_conv(lateral_0 + up(...)) + 10 * up(level 1) + 100 * up(top) by hand."""
    head = UPerHead(in_channels=[1, 1, 1], in_index=[0, 1, 2], channels=1, num_classes=2,
                    pool_scales=(1, 2), norm_cfg=None, act_cfg=None, dropout_ratio=0)
    for module in (*head.lateral_convs, *head.fpn_convs):
        _set_identity(module.conv)
    for branch in head.psp_modules:  # PPM branches give 0; the bottleneck passes x through
        torch.nn.init.zeros_(branch[1].conv.weight)
        torch.nn.init.zeros_(branch[1].conv.bias)
    _set_identity(head.bottleneck.conv, (1.0, 0.0, 0.0))
    _set_identity(head.fpn_bottleneck.conv, (1.0, 10.0, 100.0))
    feats = three_levels(level0=0.5)
    got = head._forward_feature(feats)[0, 0]
    # level 0: 0.5 + HAND_TOP_DOWN; level 1 (2x2 [[3, 2], [2, 2]]) upsampled: HAND_TOP_DOWN;
    # top (constant 2) upsampled: 2.
    torch.testing.assert_close(got, (0.5 + HAND_TOP_DOWN) + 10 * HAND_TOP_DOWN + 100 * 2.0)


def test_shapes_and_layers():
    head = make_head()
    assert len(head.lateral_convs) == len(head.fpn_convs) == 3
    assert head.bottleneck.conv.in_channels == 32 + 3 * 8
    assert head.fpn_bottleneck.conv.in_channels == 4 * 8
    feats = pyramid()
    assert head(feats).shape == (2, 3, 16, 16)
    # only the selected levels are read (in_index picks 3 of 4 maps)
    three = make_head(in_channels=[8, 16, 32], in_index=[1, 2, 3])
    assert three(feats).shape == (2, 3, 8, 8)
    zero_classifier(head)
    assert_uniform_loss(head.loss(feats, make_samples(make_labels(2, 32, 32, 3)), {}), 3)


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    head = make_head(in_channels=[4, 4], in_index=[0, 1], channels=16, pool_scales=(1, 2),
                     num_classes=4)
    assert_head_loss_falls(head, inputs=lambda x: [x, F.avg_pool2d(x, 2)], num_classes=4)


def test_bad_input():
    with pytest.raises(ValueError, match="input_transform is always 'multiple_select'"):
        make_head(input_transform='resize_concat')
    with pytest.raises(TypeError, match='pool_scales'):
        make_head(pool_scales=2)
    with pytest.raises(ValueError, match='in_channels and in_index of equal length'):
        make_head(in_index=[0, 1, 2])
    with pytest.raises(IndexError, match=r'in_index=\[0, 1, 2, 4\]'):
        make_head(in_index=[0, 1, 2, 4])(pyramid())
    # in_channels of another backbone (ResNet-18 widths for ResNet-50-like maps)
    with pytest.raises(ValueError, match=r'in_channels=\[4, 8, 16, 64\] does not match'):
        make_head(in_channels=[4, 8, 16, 64])(pyramid())
