"""FCNHead."""
import pytest
import torch
from segmentation_fixtures import (assert_uniform_loss, make_feats, make_labels,
                                   make_samples, zero_classifier)

from segdet.models.decode_heads import FCNHead
from segdet.registry import MODELS


def test_forward_shape_and_layers():
    head = MODELS.build(dict(type='FCNHead', in_channels=16, channels=8, num_classes=5,
                             norm_cfg=dict(type='BN')))
    assert len(head.convs) == 2 and head.conv_cat.conv.in_channels == 24
    out = head(make_feats([(2, 16, 8, 8)]))
    assert out.shape == (2, 5, 8, 8)


def test_dilation_kernel_size_keep_the_size():
    head = FCNHead(in_channels=8, channels=8, num_classes=3, kernel_size=5, dilation=2,
                   num_convs=1)
    conv = head.convs[0].conv
    assert (conv.kernel_size, conv.dilation, conv.padding) == ((5, 5), (2, 2), (4, 4))
    assert head.conv_cat.conv.padding == (2, 2)
    assert head(make_feats([(1, 8, 9, 7)])).shape == (1, 3, 9, 7)


def test_no_convs_is_a_linear_classifier():
    head = FCNHead(in_channels=8, channels=8, num_classes=3, num_convs=0, concat_input=False,
                   dropout_ratio=0)
    assert isinstance(head.convs, torch.nn.Identity)
    x = make_feats([(2, 8, 4, 4)])
    torch.testing.assert_close(head(x), head.conv_seg(x[0]))
    with pytest.raises(ValueError, match='num_convs=0'):
        FCNHead(in_channels=8, channels=4, num_classes=3, num_convs=0)
    with pytest.raises(ValueError, match='dilation'):
        FCNHead(in_channels=8, channels=4, num_classes=3, dilation=0)


def test_zero_classifier_loss_is_log_num_classes():
    head = FCNHead(in_channels=16, channels=8, num_classes=7, in_index=1,
                   norm_cfg=dict(type='BN'))
    zero_classifier(head)
    feats = make_feats([(2, 4, 16, 16), (2, 16, 8, 8)])
    losses = head.loss(feats, make_samples(make_labels(2, 32, 32, 7)), {})
    assert_uniform_loss(losses, 7)
