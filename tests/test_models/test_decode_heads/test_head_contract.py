"""Every decode head passes the same contract (see segmentation_fixtures); a new head adds a
case here with small widths."""
import pytest
import torch
from mmengine.registry import init_default_scope
from segmentation_fixtures import (assert_decode_head_contract, assert_point_head_contract,
                                   make_feats)

from segdet.registry import MODELS

BN = dict(type='BN')
# (head config, feature shapes, previous-stage logits shape or None)
CASES = {
    'FCNHead': (dict(type='FCNHead', in_channels=8, channels=4, num_convs=2, norm_cfg=BN),
                [(2, 8, 6, 6)], None),
    # CGNet's bare classifier (configs/_base_/models/cgnet.py)
    'FCNHead-num_convs-0': (dict(type='FCNHead', in_channels=8, channels=8, num_convs=0,
                                 concat_input=False, norm_cfg=BN), [(2, 8, 6, 6)], None),
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
    'EncHead': (dict(type='EncHead', in_channels=[4, 8], in_index=(0, 1), channels=4,
                     num_codes=3, add_lateral=True, norm_cfg=BN),
                [(2, 4, 6, 6), (2, 8, 6, 6)], None),
    'DAHead': (dict(type='DAHead', in_channels=8, channels=4, pam_channels=2, norm_cfg=BN),
               [(2, 8, 6, 6)], None),
    'UPerHead': (dict(type='UPerHead', in_channels=[4, 8, 16], in_index=[0, 1, 2], channels=4,
                      pool_scales=(1, 2), norm_cfg=BN),
                 [(2, 4, 12, 12), (2, 8, 6, 6), (2, 16, 3, 3)], None),
    'FPNHead': (dict(type='FPNHead', in_channels=[4, 4, 4], in_index=[0, 1, 2],
                     feature_strides=[4, 8, 16], channels=4, norm_cfg=BN),
                [(2, 4, 12, 12), (2, 4, 6, 6), (2, 4, 3, 3)], None),
    'APCHead': (dict(type='APCHead', in_channels=8, channels=4, pool_scales=(1, 2, 3),
                     norm_cfg=BN), [(2, 8, 6, 6)], None),
    'DMHead': (dict(type='DMHead', in_channels=8, channels=4, filter_sizes=(1, 2, 3),
                    norm_cfg=BN), [(2, 8, 6, 6)], None),
    'ANNHead': (dict(type='ANNHead', in_channels=[4, 8], in_index=[0, 1], channels=4,
                     project_channels=2, key_pool_scales=(1, 2), norm_cfg=BN),
                [(2, 4, 6, 6), (2, 8, 6, 6)], None),
    'NLHead': (dict(type='NLHead', in_channels=8, channels=4, norm_cfg=BN), [(2, 8, 6, 6)],
               None),
    'DNLHead': (dict(type='DNLHead', in_channels=8, channels=4, norm_cfg=BN), [(2, 8, 6, 6)],
                None),
    'GCHead': (dict(type='GCHead', in_channels=8, channels=8, norm_cfg=BN), [(2, 8, 6, 6)],
               None),
    'EMAHead': (dict(type='EMAHead', in_channels=8, channels=4, ema_channels=6, num_bases=3,
                     num_stages=2, norm_cfg=BN), [(2, 8, 6, 6)], None),
    'PSAHead': (dict(type='PSAHead', in_channels=8, channels=4, mask_size=(5, 5), norm_cfg=BN),
                [(2, 8, 6, 6)], None),
    'CCHead': (dict(type='CCHead', in_channels=8, channels=8, norm_cfg=BN), [(2, 8, 6, 6)],
               None),
    # Fast-SCNN's head (configs/_base_/models/fast_scnn.py has concat_input=False)
    'DepthwiseSeparableFCNHead': (dict(type='DepthwiseSeparableFCNHead', in_channels=8,
                                       channels=4, norm_cfg=BN), [(2, 8, 6, 6)], None),
    'LRASPPHead': (dict(type='LRASPPHead', in_channels=(4, 6, 8), in_index=(0, 1, 2),
                        channels=4, branch_channels=(2, 3), input_transform='multiple_select',
                        norm_cfg=BN), [(2, 4, 12, 12), (2, 6, 6, 6), (2, 8, 3, 3)], None),
}
# Heads with several outputs in training: assert_decode_head_contract's keyword arguments.
CONTRACT_OPTIONS = {
    'EncHead': dict(extra_losses=('loss_se', )),
    'DAHead': dict(classifiers=('conv_seg', 'pam_conv_seg', 'cam_conv_seg'),
                   loss_prefixes=('pam_cam.', 'pam.', 'cam.')),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_decode_head_contract(name):
    init_default_scope('segdet')
    torch.manual_seed(0)
    cfg, shapes, prev_shape = CASES[name]
    head = MODELS.build(dict(cfg, num_classes=3, dropout_ratio=0))
    prev = None if prev_shape is None else torch.randn(*prev_shape)
    assert_decode_head_contract(head, make_feats(shapes), 3, prev_output=prev,
                                **CONTRACT_OPTIONS.get(name, {}))


# Point heads (PointRend) classify sampled points, not maps: their contract is
# assert_point_head_contract. (head config, feature shapes, previous-stage logits shape)
POINT_CASES = {
    'PointHead': (dict(type='PointHead', in_channels=[8], in_index=[0], channels=4, num_fcs=2),
                  [(2, 8, 6, 6)], (2, 3, 6, 6)),
}


@pytest.mark.parametrize('name', sorted(POINT_CASES))
def test_point_head_contract(name):
    init_default_scope('segdet')
    torch.manual_seed(0)
    cfg, shapes, prev_shape = POINT_CASES[name]
    head = MODELS.build(dict(cfg, num_classes=3, dropout_ratio=0))
    assert_point_head_contract(
        head, make_feats(shapes), torch.randn(*prev_shape), 3,
        train_cfg=dict(num_points=16, oversample_ratio=3, importance_sample_ratio=0.75),
        test_cfg=dict(subdivision_steps=2, subdivision_num_points=20, scale_factor=2))
