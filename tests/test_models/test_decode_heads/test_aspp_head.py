"""ASPPModule and ASPPHead."""
import pytest
from segmentation_fixtures import (assert_uniform_loss, make_feats, make_labels,
                                   make_samples, zero_classifier)

from segdet.models.decode_heads import ASPPHead, ASPPModule


def test_aspp_module_branches():
    aspp = ASPPModule((1, 2, 3), 8, 4, conv_cfg=None, norm_cfg=None, act_cfg=None)
    convs = [m.conv for m in aspp]
    assert [c.kernel_size for c in convs] == [(1, 1), (3, 3), (3, 3)]
    assert [c.dilation for c in convs] == [(1, 1), (2, 2), (3, 3)]
    outs = aspp(make_feats([(1, 8, 7, 7)])[0])
    assert all(o.shape == (1, 4, 7, 7) for o in outs)


def test_forward_shape_and_loss():
    head = ASPPHead(in_channels=16, channels=8, num_classes=6, dilations=(1, 2, 4),
                    norm_cfg=dict(type='BN'))
    assert head.bottleneck.conv.in_channels == 4 * 8
    feats = make_feats([(2, 16, 8, 8)])
    assert head(feats).shape == (2, 6, 8, 8)
    zero_classifier(head)
    assert_uniform_loss(head.loss(feats, make_samples(make_labels(2, 16, 16, 6)), {}), 6)


def test_bad_dilations():
    with pytest.raises(ValueError, match='dilations'):
        ASPPHead(in_channels=8, channels=8, num_classes=2, dilations=(1, 0))
