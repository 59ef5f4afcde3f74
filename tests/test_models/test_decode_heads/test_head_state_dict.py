"""State-dict keys and shapes of the heads equal mmseg 1.2.2's for the model-zoo configs.

The truth is tests/data/state_dict_keys/*.json (keys that mmseg itself produced, read through
``reference_data``); the head arguments below are those of the mmseg configs of the same names
(checked against mmseg 1.2.2's config files, from the ``mm_configs`` fixture).
"""
import copy

import pytest
import torch
from torch import nn

from reference_data import MMConfigs, state_dict_reference
from segdet.registry import MODELS

NORM = dict(type='SyncBN', requires_grad=True)
AUX_FCN = dict(type='FCNHead', in_channels=1024, in_index=2, channels=256, num_convs=1,
               concat_input=False, dropout_ratio=0.1, num_classes=19, norm_cfg=NORM,
               align_corners=False,
               loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4))
CE = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
R50_HEAD = dict(in_channels=2048, in_index=3, channels=512, dropout_ratio=0.1, num_classes=19,
                norm_cfg=NORM, align_corners=False, loss_decode=CE)


def _ocr_heads(widths):
    return [
        dict(type='FCNHead', in_channels=list(widths), channels=sum(widths),
             in_index=(0, 1, 2, 3), input_transform='resize_concat', kernel_size=1,
             num_convs=1, concat_input=False, dropout_ratio=-1, num_classes=19,
             norm_cfg=NORM, align_corners=False,
             loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(type='OCRHead', in_channels=list(widths), in_index=(0, 1, 2, 3),
             input_transform='resize_concat', channels=512, ocr_channels=256,
             dropout_ratio=-1, num_classes=19, norm_cfg=NORM, align_corners=False,
             loss_decode=CE),
    ]


# name -> (config path under the mmseg configs, decode_head, auxiliary_head)
CASES = {
    'fcn_r50-d8_4xb2-40k_cityscapes-512x1024': (
        'fcn', dict(type='FCNHead', num_convs=2, concat_input=True, **R50_HEAD), AUX_FCN),
    'pspnet_r50-d8_4xb2-40k_cityscapes-512x1024': (
        'pspnet', dict(type='PSPHead', pool_scales=(1, 2, 3, 6), **R50_HEAD), AUX_FCN),
    'pspnet_r101-d8_4xb2-40k_cityscapes-512x1024': (
        'pspnet', dict(type='PSPHead', pool_scales=(1, 2, 3, 6), **R50_HEAD), AUX_FCN),
    'deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024': (
        'deeplabv3', dict(type='ASPPHead', dilations=(1, 12, 24, 36), **R50_HEAD), AUX_FCN),
    'deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024': (
        'deeplabv3plus', dict(type='DepthwiseSeparableASPPHead', dilations=(1, 12, 24, 36),
                              c1_in_channels=256, c1_channels=48, **R50_HEAD), AUX_FCN),
    'ocrnet_hr18_4xb2-40k_cityscapes-512x1024': ('ocrnet', _ocr_heads((18, 36, 72, 144)), None),
    'ocrnet_hr48_4xb2-40k_cityscapes-512x1024': ('ocrnet', _ocr_heads((48, 96, 192, 384)), None),
}


def _build(cfg):
    if isinstance(cfg, list):
        return nn.ModuleList([MODELS.build(copy.deepcopy(c)) for c in cfg])
    return MODELS.build(copy.deepcopy(cfg))


@pytest.mark.parametrize('name', sorted(CASES))
def test_head_keys_and_shapes_equal_mmseg(name):
    ref = state_dict_reference(name)['keys']
    expected = [(k, list(v)) for k, v in ref.items()
                if k.startswith(('decode_head.', 'auxiliary_head.'))]
    _, decode_head, auxiliary_head = CASES[name]
    model = nn.Module()
    with torch.device('meta'):  # full-size heads: shapes only, no memory
        model.decode_head = _build(decode_head)
        if auxiliary_head is not None:
            model.auxiliary_head = _build(auxiliary_head)
    got = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert dict(got) == dict(expected)
    assert got == expected  # same order as well


def _without_type_noise(cfg):
    """Head configs compared as plain data (tuples and lists alike)."""
    if isinstance(cfg, dict):
        return {k: _without_type_noise(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [_without_type_noise(v) for v in cfg]
    return cfg


@pytest.mark.parametrize('name', sorted(CASES))
def test_head_arguments_are_the_mmseg_configs(name, mm_configs: MMConfigs):
    folder, decode_head, auxiliary_head = CASES[name]
    path = mm_configs.mmseg / folder / f'{name}.py'
    assert path.is_file(), f'mmseg 1.2.2 has no config {path}'
    from mmengine.config import Config
    model = Config.fromfile(str(path)).model.to_dict()
    assert _without_type_noise(model['decode_head']) == _without_type_noise(decode_head)
    assert _without_type_noise(model.get('auxiliary_head')) == \
        _without_type_noise(auxiliary_head)
