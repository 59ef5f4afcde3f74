import pytest
from mmengine.config import Config

from segdet.utils import revert_sync_bn_cfg, unknown_cfg_option_keys, warn_unknown_cfg_options


def test_unknown_cfg_option_keys():
    cfg = Config(dict(model=dict(head=[dict(num_classes=3)]), train_cfg=dict(max_iters=10)))
    options = ['train_cfg.max_iters', 'model.head.0.num_classes', 'train_cfg.max_iter',
               'model.head.3.x']
    assert unknown_cfg_option_keys(cfg, options) == ['train_cfg.max_iter', 'model.head.3.x']
    with pytest.warns(UserWarning, match="'train_cfg.max_iter'"):
        warn_unknown_cfg_options(cfg, ['train_cfg.max_iter'])


def test_revert_sync_bn_cfg_is_a_copy():
    model = dict(backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)),
                 heads=[dict(norm_cfg=dict(type='SyncBN')), dict(norm_cfg=dict(type='GN'))])
    out = revert_sync_bn_cfg(model)
    assert out['backbone']['norm_cfg'] == dict(type='BN', requires_grad=True)
    assert [h['norm_cfg']['type'] for h in out['heads']] == ['BN', 'GN']
    assert model['backbone']['norm_cfg']['type'] == 'SyncBN'
