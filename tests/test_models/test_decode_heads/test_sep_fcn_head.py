"""DepthwiseSeparableFCNHead (Fast-SCNN's decode head)."""
import pytest
import torch
from mmcv.cnn import DepthwiseSeparableConvModule
from segmentation_fixtures import (assert_uniform_loss, make_feats, make_labels, make_samples,
                                   zero_classifier)

from reference_data import state_dict_keys
from segdet.models.decode_heads import DepthwiseSeparableFCNHead
from segdet.registry import MODELS

BN = dict(type='BN')


@pytest.mark.parametrize('num_convs, concat_input', [(2, False), (1, True), (3, True)])
def test_output_shapes_and_structure(num_convs, concat_input):
    head = DepthwiseSeparableFCNHead(in_channels=6, channels=4, num_convs=num_convs,
                                     concat_input=concat_input, num_classes=5,
                                     norm_cfg=BN).eval()
    feats = make_feats([(2, 6, 7, 9)])
    with torch.no_grad():
        assert head(feats).shape == (2, 5, 7, 9)
        assert head._forward_feature(feats).shape == (2, 4, 7, 9)
    assert len(head.convs) == num_convs
    separable = list(head.convs) + ([head.conv_cat] if concat_input else [])
    assert all(isinstance(m, DepthwiseSeparableConvModule) for m in separable)
    widths = [6] + [4] * (num_convs - 1) + ([6 + 4] if concat_input else [])
    for module, width in zip(separable, widths):
        dw, pw = module.depthwise_conv, module.pointwise_conv
        assert (dw.conv.in_channels, dw.conv.groups) == (width, width)
        assert dw.conv.kernel_size == (3, 3)
        assert (pw.conv.in_channels, pw.conv.out_channels) == (width, 4)
        assert not dw.with_activation and pw.with_activation  # dw_act_cfg=None
    assert not hasattr(head, 'conv_cat') or concat_input


def test_dw_act_cfg_and_kernel_size():
    head = DepthwiseSeparableFCNHead(in_channels=4, channels=4, kernel_size=1, num_convs=1,
                                     concat_input=False, num_classes=3,
                                     dw_act_cfg=dict(type='ReLU6'))
    assert type(head.convs[0].depthwise_conv.activate).__name__ == 'ReLU6'
    assert head.convs[0].depthwise_conv.conv.padding == (0, 0)
    assert head(make_feats([(1, 4, 5, 5)])).shape == (1, 3, 5, 5)


def test_num_convs_zero_is_the_bare_classifier():
    head = DepthwiseSeparableFCNHead(in_channels=4, channels=4, num_convs=0,
                                     concat_input=False, num_classes=3)
    assert isinstance(head.convs, torch.nn.Identity)


def test_uniform_loss_with_zero_classifier():
    head = DepthwiseSeparableFCNHead(in_channels=8, channels=4, concat_input=False,
                                     num_classes=5, norm_cfg=BN)
    feats = make_feats([(2, 8, 6, 6)])
    zero_classifier(head)
    assert_uniform_loss(head.loss(feats, make_samples(make_labels(2, 24, 24, 5)), {}), 5)


def test_config_head_keys_match_mmseg():
    """configs/_base_/models/fast_scnn.py's decode head has mmseg 1.2.2's keys and shapes."""
    head = MODELS.build(dict(
        type='DepthwiseSeparableFCNHead', in_channels=128, channels=128, concat_input=False,
        num_classes=19, in_index=-1, norm_cfg=BN, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1)))
    expected = state_dict_keys('fast_scnn_8xb4-160k_cityscapes-512x1024', prefix='decode_head.')
    got = {k: list(v.shape) for k, v in head.state_dict().items()}
    assert got == {k: list(v) for k, v in expected.items()}


def test_dilation_is_refused():
    with pytest.raises(NotImplementedError, match='dilation=2 is not supported'):
        DepthwiseSeparableFCNHead(in_channels=4, channels=4, dilation=2, num_classes=3)
