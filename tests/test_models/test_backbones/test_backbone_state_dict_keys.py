"""Checkpoint compatibility (docs/design.md#checkpoint-compatibility): backbone state-dict keys
and shapes equal those of mmseg 1.2.2 / mmdet 3.3.0 for the same configs.

The reference JSONs are the top-level files of ``tests/data/state_dict_keys`` (read through
``reference_data``). The backbone arguments below are those of the named configs
(SyncBN and BN have the same keys). Models are built on the meta device: no memory, no init.
"""
import pytest
import torch

from reference_data import state_dict_keys, state_dict_reference_names
from segdet.registry import MODELS

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

SYNC_BN = dict(type='SyncBN', requires_grad=True)
GN = dict(type='GN', num_groups=32, requires_grad=True)
# mmseg configs/_base_/models/pspnet_r50-d8.py (and fcn / deeplabv3 / deeplabv3plus)
R50_D8 = dict(type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3),
              dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=SYNC_BN, norm_eval=False,
              style='pytorch', contract_dilation=True)
# mmdet configs/_base_/models/faster-rcnn_r50_fpn.py (and mask-rcnn_r50_fpn.py)
R50_FPN = dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
               norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch')
# mmdet configs/_base_/models/faster-rcnn_r50-caffe-c4.py: stage 4 lives in the RoI head.
R50_C4 = dict(type='ResNet', depth=50, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
              out_indices=(2, ), frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=False),
              norm_eval=True, style='caffe')


def hrnet_cfg(width: int) -> dict:
    """mmseg configs/_base_/models/ocrnet_hr18.py, with the W48 widths override."""
    widths = tuple(width * 2**i for i in range(4))
    return dict(
        type='HRNet', norm_cfg=SYNC_BN, norm_eval=False,
        extra=dict(
            stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                        num_channels=(64, )),
            stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                        num_channels=widths[:2]),
            stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                        num_channels=widths[:3]),
            stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                        num_channels=widths)))


CASES = {
    'pspnet_r50-d8_4xb2-40k_cityscapes-512x1024': R50_D8,
    'pspnet_r101-d8_4xb2-40k_cityscapes-512x1024': {**R50_D8, 'depth': 101},
    'fcn_r50-d8_4xb2-40k_cityscapes-512x1024': R50_D8,
    'deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024': R50_D8,
    'deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024': R50_D8,
    'ocrnet_hr18_4xb2-40k_cityscapes-512x1024': hrnet_cfg(18),
    'ocrnet_hr48_4xb2-40k_cityscapes-512x1024': hrnet_cfg(48),
    'faster-rcnn_r50_fpn_1x_coco': R50_FPN,
    'mask-rcnn_r50_fpn_1x_coco': R50_FPN,
    'faster-rcnn_r50-caffe_c4-1x_coco': R50_C4,
    'mask-rcnn_r50-caffe-c4_1x_coco': R50_C4,
    'mask-rcnn_r50_fpn_gn-all_2x_coco': {**R50_FPN, 'norm_cfg': GN},
    'mask-rcnn_r50_fpn_gn-ws-all_2x_coco': {**R50_FPN, 'norm_cfg': GN,
                                            'conv_cfg': dict(type='ConvWS')},
    'faster-rcnn_r50_fpn_gn-ws-all_1x_coco': {**R50_FPN, 'norm_cfg': GN,
                                              'conv_cfg': dict(type='ConvWS')},
    'mask-rcnn_x101-32x8d_fpn_1x_coco': dict(
        type='ResNeXt', depth=101, groups=32, base_width=8, num_stages=4,
        out_indices=(0, 1, 2, 3), frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=False),
        style='pytorch'),
}


def reference_backbone_keys(name: str) -> dict:
    return {k: tuple(v) for k, v in state_dict_keys(name, prefix='backbone.').items()}


@pytest.mark.parametrize('name', sorted(CASES))
def test_backbone_keys_and_shapes_match_reference(name):
    expected = reference_backbone_keys(name)
    assert expected, f'no backbone.* keys in {name}.json'
    with torch.device('meta'):
        model = MODELS.build(CASES[name])
    got = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sorted(set(expected) - set(got)) == [], 'missing keys'
    assert sorted(set(got) - set(expected)) == [], 'unexpected keys'
    wrong = {k: (got[k], v) for k, v in expected.items() if got[k] != v}
    assert wrong == {}, 'shape mismatches (ours, reference)'


def test_every_reference_backbone_is_covered():
    names = set(state_dict_reference_names())
    assert names <= set(CASES), f'reference configs without a backbone case: {names - set(CASES)}'
