"""PPM and PSPHead."""
import pytest
import torch
from segmentation_fixtures import (assert_uniform_loss, make_feats, make_labels,
                                   make_samples, zero_classifier)

from segdet.models.decode_heads import PPM, PSPHead


def test_ppm_branches():
    ppm = PPM((1, 2, 3), 8, 4, conv_cfg=None, norm_cfg=None, act_cfg=None,
              align_corners=False)
    outs = ppm(make_feats([(2, 8, 6, 6)])[0])
    assert [o.shape for o in outs] == [torch.Size([2, 4, 6, 6])] * 3
    # the global (scale 1) branch is constant over space
    torch.testing.assert_close(outs[0], outs[0][:, :, :1, :1].expand_as(outs[0]))
    assert [m[0].output_size for m in ppm] == [1, 2, 3]


def test_forward_shape_and_loss():
    head = PSPHead(in_channels=16, channels=8, num_classes=4, pool_scales=(1, 2, 3, 6),
                   norm_cfg=dict(type='BN'))
    assert head.bottleneck.conv.in_channels == 16 + 4 * 8
    feats = make_feats([(2, 16, 12, 12)])
    assert head(feats).shape == (2, 4, 12, 12)
    zero_classifier(head)
    assert_uniform_loss(head.loss(feats, make_samples(make_labels(2, 24, 24, 4)), {}), 4)
    with pytest.raises(TypeError, match='pool_scales'):  # an int where a list is needed
        PSPHead(in_channels=16, channels=8, num_classes=4, pool_scales=2)
