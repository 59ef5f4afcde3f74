"""Every decode head passes the same contract (see segmentation_fixtures); a new head adds a
case here with small widths."""
import pytest
import torch
from mmengine.registry import init_default_scope
from segmentation_fixtures import assert_decode_head_contract, make_feats

from segdet.registry import MODELS

BN = dict(type='BN')
# (head config, feature shapes, previous-stage logits shape or None)
CASES = {
    'FCNHead': (dict(type='FCNHead', in_channels=8, channels=4, num_convs=2, norm_cfg=BN),
                [(2, 8, 6, 6)], None),
    'PSPHead': (dict(type='PSPHead', in_channels=8, channels=4, pool_scales=(1, 2, 3),
                     norm_cfg=BN), [(2, 8, 6, 6)], None),
    'ASPPHead': (dict(type='ASPPHead', in_channels=8, channels=4, dilations=(1, 2),
                      norm_cfg=BN), [(2, 8, 6, 6)], None),
    'DepthwiseSeparableASPPHead': (
        dict(type='DepthwiseSeparableASPPHead', in_channels=8, in_index=1, channels=4,
             dilations=(1, 2), c1_in_channels=4, c1_channels=4, norm_cfg=BN),
        [(2, 4, 12, 12), (2, 8, 6, 6)], None),
    'OCRHead': (dict(type='OCRHead', in_channels=8, channels=4, ocr_channels=4, norm_cfg=BN),
                [(2, 8, 6, 6)], (2, 3, 6, 6)),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_decode_head_contract(name):
    init_default_scope('segdet')
    torch.manual_seed(0)
    cfg, shapes, prev_shape = CASES[name]
    head = MODELS.build(dict(cfg, num_classes=3, dropout_ratio=0))
    prev = None if prev_shape is None else torch.randn(*prev_shape)
    assert_decode_head_contract(head, make_feats(shapes), 3, prev_output=prev)
