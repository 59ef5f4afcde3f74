"""FPNHead (Semantic FPN) and the Upsample module of its scale heads."""
import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import (assert_head_loss_falls, assert_uniform_loss, make_feats,
                                   make_labels, make_samples, zero_classifier)

from segdet.models.decode_heads import FPNHead
from segdet.models.decode_heads.fpn_head import scale_head_lengths
from segdet.models.utils import Upsample

# A 2x2 map [[1, 0], [0, 0]] upsampled bilinearly (align_corners=False) to 4x4 is the outer
# product of u = [1, 0.75, 0.25, 0] with itself (sample positions -0.25, 0.25, 0.75, 1.25,
# clamped to the border).
HAND_UP = torch.tensor([[1.0, 0.75, 0.25, 0.0],
                        [0.75, 0.5625, 0.1875, 0.0],
                        [0.25, 0.1875, 0.0625, 0.0],
                        [0.0, 0.0, 0.0, 0.0]])


def make_head(**kwargs) -> FPNHead:
    cfg = dict(in_channels=[8, 8, 8, 8], in_index=[0, 1, 2, 3], feature_strides=[4, 8, 16, 32],
               channels=4, num_classes=3, norm_cfg=dict(type='BN'), dropout_ratio=0)
    cfg.update(kwargs)
    return FPNHead(**cfg)


def test_scale_head_lengths():
    assert scale_head_lengths([4, 8, 16, 32]) == [1, 1, 2, 3]
    assert scale_head_lengths([8, 8, 16]) == [1, 1, 1]
    assert scale_head_lengths([2, 16]) == [1, 3]


def test_scale_head_layout_matches_mmseg_keys():
    head = make_head()
    kinds = [[type(m).__name__ for m in sh] for sh in head.scale_heads]
    assert kinds == [['ConvModule'], ['ConvModule', 'Upsample'],
                     ['ConvModule', 'Upsample'] * 2, ['ConvModule', 'Upsample'] * 3]
    keys = {k for k in head.state_dict() if k.startswith('scale_heads.3.')}
    assert {k.rsplit('.', 2)[0] for k in keys} == {f'scale_heads.3.{i}' for i in (0, 2, 4)}
    assert head.scale_heads[3][0].conv.in_channels == 8
    assert head.scale_heads[3][2].conv.in_channels == 4


def _set_identity(conv: torch.nn.Conv2d) -> None:
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1] = 1.0
        conv.bias.zero_()


def test_per_scale_upsampling_on_a_hand_made_case():
    """One channel, identity convs, no norm / activation: the summed feature is
    x0 + up2(x1) + up2(up2(x2)) and each term is known by hand."""
    head = FPNHead(in_channels=[1, 1, 1], in_index=[0, 1, 2], feature_strides=[4, 8, 16],
                   channels=1, num_classes=2, norm_cfg=None, act_cfg=None, dropout_ratio=0)
    for scale_head in head.scale_heads:
        for module in scale_head:
            if not isinstance(module, Upsample):
                _set_identity(module.conv)
    with torch.no_grad():
        head.conv_seg.weight.copy_(torch.tensor([1.0, -2.0]).view(2, 1, 1, 1))
        head.conv_seg.bias.zero_()
    x0 = torch.full((1, 1, 4, 4), 0.5)
    x1 = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(1, 1, 2, 2)
    x2 = torch.full((1, 1, 1, 1), 3.0)  # a constant stays constant through two 2x steps
    assert head.scale_heads[1](x1)[0, 0].tolist() == HAND_UP.tolist()
    assert head.scale_heads[2](x2).shape == (1, 1, 4, 4)
    feature = 0.5 + HAND_UP + 3.0
    out = head([x0, x1, x2])
    torch.testing.assert_close(out[0, 0], feature)
    torch.testing.assert_close(out[0, 1], -2.0 * feature)


def test_shapes_including_sizes_that_do_not_halve_exactly():
    head = make_head()
    feats = make_feats([(2, 8, 16, 16), (2, 8, 8, 8), (2, 8, 4, 4), (2, 8, 2, 2)])
    assert head(feats).shape == (2, 3, 16, 16)
    # 7x7 at stride 4 with 4x4, 2x2, 1x1 above (an odd input): upsampled maps are resized
    odd = make_feats([(2, 8, 7, 7), (2, 8, 4, 4), (2, 8, 2, 2), (2, 8, 1, 1)])
    assert head(odd).shape == (2, 3, 7, 7)
    zero_classifier(head)
    assert_uniform_loss(head.loss(feats, make_samples(make_labels(2, 32, 32, 3)), {}), 3)


def test_upsample_module():
    x = torch.arange(6.0).view(1, 1, 2, 3)
    assert Upsample(scale_factor=2)(x).shape == (1, 1, 4, 6)
    assert Upsample(scale_factor=1.5)(x).shape == (1, 1, 3, 4)  # int(2 * 1.5), int(3 * 1.5)
    assert Upsample(scale_factor=(2, 1))(x).shape == (1, 1, 4, 3)
    assert Upsample(size=(5, 5), mode='bilinear', align_corners=False)(x).shape == (1, 1, 5, 5)
    torch.testing.assert_close(
        Upsample(scale_factor=2, mode='bilinear', align_corners=False)(x),
        F.interpolate(x, size=(4, 6), mode='bilinear', align_corners=False))
    assert list(Upsample(scale_factor=2).parameters()) == []
    with pytest.raises(ValueError, match='size or scale_factor'):
        Upsample()


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    head = make_head(in_channels=[4, 4], in_index=[0, 1], feature_strides=[4, 8],
                     channels=16, num_classes=4)
    assert_head_loss_falls(head, inputs=lambda x: [x, F.avg_pool2d(x, 2)], num_classes=4)


def test_bad_input():
    with pytest.raises(ValueError, match=r'feature_strides=\[4, 8, 16\] needs one stride per '
                                         r'in_channels entry'):
        make_head(feature_strides=[4, 8, 16])
    with pytest.raises(ValueError, match='first of feature_strides must be the smallest'):
        make_head(feature_strides=[8, 4, 16, 32])
    with pytest.raises(TypeError, match='feature_strides'):
        make_head(feature_strides=4)
    with pytest.raises(ValueError, match="input_transform is always 'multiple_select'"):
        make_head(input_transform='resize_concat')
    with pytest.raises(ValueError, match='in_channels and in_index of equal length'):
        make_head(in_index=[0, 1, 2])
    feats = make_feats([(1, 8, 8, 8), (1, 8, 4, 4), (1, 8, 2, 2), (1, 8, 1, 1)])
    with pytest.raises(IndexError, match=r'in_index=\[1, 2, 3, 4\]'):
        make_head(in_index=[1, 2, 3, 4])(feats)
    # a neck with 16 output channels where the head expects 8
    with pytest.raises(ValueError, match=r'in_channels=\[16, 16, 16, 16\] does not match'):
        make_head(in_channels=[16] * 4)(feats)
