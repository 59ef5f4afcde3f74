"""DepthwiseSeparableASPPModule and DepthwiseSeparableASPPHead (DeepLabV3+)."""
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from segmentation_fixtures import (assert_uniform_loss, make_feats, make_labels,
                                   make_samples, zero_classifier)

from segdet.models.decode_heads import (DepthwiseSeparableASPPHead,
                                        DepthwiseSeparableASPPModule)


def test_module_separable_only_for_atrous_branches():
    aspp = DepthwiseSeparableASPPModule((1, 2, 3), 8, 4, conv_cfg=None, norm_cfg=None,
                                        act_cfg=None)
    assert type(aspp[0]) is ConvModule
    assert all(isinstance(m, DepthwiseSeparableConvModule) for m in list(aspp)[1:])
    assert aspp[2].depthwise_conv.conv.dilation == (3, 3)
    assert aspp[2].depthwise_conv.conv.groups == 8


def test_output_at_low_level_size_and_loss():
    head = DepthwiseSeparableASPPHead(in_channels=16, in_index=3, channels=8,
                                      dilations=(1, 2), c1_in_channels=4, c1_channels=3,
                                      num_classes=5, norm_cfg=dict(type='BN'))
    assert head.sep_bottleneck[0].depthwise_conv.conv.in_channels == 8 + 3
    feats = make_feats([(2, 4, 16, 16), (2, 6, 8, 8), (2, 6, 8, 8), (2, 16, 8, 8)])
    assert head(feats).shape == (2, 5, 16, 16)  # the size of inputs[0]
    zero_classifier(head)
    assert_uniform_loss(head.loss(feats, make_samples(make_labels(2, 32, 32, 5)), {}), 5)


def test_without_low_level_branch():
    head = DepthwiseSeparableASPPHead(in_channels=16, channels=8, dilations=(1, 2),
                                      c1_in_channels=0, c1_channels=0, num_classes=5)
    assert head.c1_bottleneck is None
    assert head(make_feats([(2, 4, 16, 16), (2, 16, 8, 8)])).shape == (2, 5, 8, 8)
