import pytest
from mmengine.config import Config

from segdet.utils import (load_config, revert_sync_bn_cfg, unknown_cfg_option_keys,
                          warn_unknown_cfg_options)
from segdet.utils.config_utils import find_config_syntax_error
from segdet.utils.config_variables import follow_top_level_variables


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


# --------------------------------------------------------------------------- syntax errors
def test_syntax_error_names_the_config_file_and_line(tmp_path) -> None:
    bad = tmp_path / 'bad.py'
    bad.write_text('a = 1\nb = dict(x=1,\n')
    with pytest.raises(SyntaxError) as err:
        load_config(bad)
    # mmengine alone reports File "<unknown>".
    assert err.value.filename == str(bad) and err.value.lineno == 2
    assert f'in config file {bad}, line 2' in str(err.value)


def test_syntax_error_in_a_base_names_the_base_and_who_inherits_it(tmp_path) -> None:
    (tmp_path / 'base').mkdir()
    (tmp_path / 'base' / 'ok.py').write_text('x = 1\n')
    (tmp_path / 'base' / 'broken.py').write_text('y = 2\n\nz = [1, 2\nw = 3 +\n')
    (tmp_path / 'mid.py').write_text("_base_ = ['./base/ok.py', './base/broken.py']\nv = 1\n")
    (tmp_path / 'top.py').write_text("_base_ = './mid.py'\nu = 1\n")
    with pytest.raises(SyntaxError) as err:
        load_config(tmp_path / 'top.py')
    broken = str(tmp_path / 'base' / 'broken.py')
    assert err.value.filename == broken and err.value.lineno == 3
    assert f'(a _base_ of {tmp_path / "mid.py"} <- {tmp_path / "top.py"})' in str(err.value)
    assert find_config_syntax_error(str(tmp_path / 'base' / 'ok.py')) is None


# --------------------------------------------------------------------------- top-level variables
VARIABLES_CONFIG = """
data_root = 'data/coco/'
dataset_type = 'CocoDataset'
max_iters = 1500
crop_size = (128, 128)
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root,
                                     ann_file='annotations/train.json'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/val.json',
                     other='data/coco_extra/x.json')
train_cfg = dict(max_iters=max_iters)
param_scheduler = [dict(type='LinearLR', end=100),
                   dict(type='CosineAnnealingLR', end=max_iters)]
pipeline = [dict(type='RandomCrop', crop_size=crop_size), dict(type='Pad', size=crop_size)]
"""


def test_data_root_option_reaches_the_data_sets(tmp_path) -> None:
    path = tmp_path / 'vars.py'
    path.write_text(VARIABLES_CONFIG)
    cfg = load_config(path, {'data_root': 'mine/data'})
    # Before: only the top-level variable changed and the data sets read data/coco/.
    assert cfg.data_root == 'mine/data'
    assert cfg.train_dataloader.dataset.data_root == 'mine/data'
    assert cfg.val_dataloader.dataset.data_root == 'mine/data'
    assert cfg.val_evaluator.ann_file == 'mine/data/annotations/val.json'
    assert cfg.val_evaluator.other == 'data/coco_extra/x.json'  # not under data/coco/
    assert cfg.train_dataloader.dataset.ann_file == 'annotations/train.json'
    # An explicit key wins over the variable.
    cfg = load_config(path, {'data_root': 'a', 'val_dataloader.dataset.data_root': 'b'})
    assert cfg.train_dataloader.dataset.data_root == 'a'
    assert cfg.val_dataloader.dataset.data_root == 'b'
    cfg = load_config(path, {'dataset_type': 'MyDataset'})
    assert cfg.train_dataloader.dataset.type == cfg.val_dataloader.dataset.type == 'MyDataset'
    assert cfg.val_evaluator.type == 'CocoMetric'


def test_number_variable_follows_same_named_keys_and_warns_about_others(tmp_path) -> None:
    path = tmp_path / 'vars.py'
    path.write_text(VARIABLES_CONFIG)
    with pytest.warns(UserWarning) as record:
        cfg = load_config(path, {'max_iters': 100, 'crop_size': (64, 64)})
    assert cfg.train_cfg.max_iters == 100
    assert cfg.param_scheduler[1].end == 1500 and cfg.param_scheduler[0].end == 100
    assert cfg.pipeline[0].crop_size == (64, 64) and cfg.pipeline[1].size == (128, 128)
    messages = [str(w.message) for w in record]
    assert any("variable 'max_iters'" in m and 'param_scheduler.1.end' in m for m in messages)
    assert any("variable 'crop_size'" in m and 'pipeline.1.size' in m for m in messages)


def test_options_without_top_level_variables_change_only_their_keys(tmp_path) -> None:
    path = tmp_path / 'vars.py'
    path.write_text(VARIABLES_CONFIG)
    options = {'train_cfg.max_iters': 7, 'val_evaluator.ann_file': 'x.json'}
    assert follow_top_level_variables(Config.fromfile(str(path)), options) == {}
    cfg = load_config(path, options)
    assert cfg.max_iters == 1500 and cfg.train_cfg.max_iters == 7
