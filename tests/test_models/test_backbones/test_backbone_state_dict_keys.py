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
# mmseg configs/_base_/models/pointrend_r50.py, upernet_r50.py, fpn_r50.py: ResNet-V1c without
# dilation (strides 4-32)
R50_V1C = {**R50_D8, 'dilations': (1, 1, 1, 1), 'strides': (1, 2, 2, 2)}
# mmdet configs/_base_/models/faster-rcnn_r50_fpn.py (and mask-rcnn_r50_fpn.py)
R50_FPN = dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
               norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, style='pytorch')
# mmdet configs/_base_/models/faster-rcnn_r50-caffe-c4.py: stage 4 lives in the RoI head.
R50_C4 = dict(type='ResNet', depth=50, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1),
              out_indices=(2, ), frozen_stages=1, norm_cfg=dict(type='BN', requires_grad=False),
              norm_eval=True, style='caffe')

# mmseg configs/mobilenet_v2/mobilenet-v2-d8_*_4xb2-80k_cityscapes-512x1024.py
M_V2_D8 = dict(type='MobileNetV2', widen_factor=1., strides=(1, 2, 2, 1, 1, 1, 1),
               dilations=(1, 1, 1, 2, 2, 4, 4), out_indices=(1, 2, 4, 6), norm_cfg=SYNC_BN)

# mmseg configs/resnest/resnest_s101-d8_*_4xb2-80k_cityscapes-512x1024.py: the R-101-D8 settings
# with a ResNeSt backbone (deep stem of 128 channels, radix 2).
S101_D8 = {**R50_D8, 'type': 'ResNeSt', 'depth': 101, 'stem_channels': 128, 'radix': 2,
           'reduction_factor': 4, 'avg_down_stride': True}

# mmseg configs/_base_/models/lraspp_m-v3-d8.py
M_V3_D8 = dict(type='MobileNetV3', arch='large', out_indices=(1, 3, 16),
               norm_cfg=dict(type='SyncBN', eps=0.001, requires_grad=True))

# mmseg configs/_base_/models/bisenetv2.py (no backbone norm_cfg: BN)
BISENETV2 = dict(type='BiSeNetV2', detail_channels=(64, 64, 128),
                 semantic_channels=(16, 32, 64, 128), semantic_expansion_ratio=6,
                 bga_channels=128, out_indices=(0, 1, 2, 3, 4), init_cfg=None,
                 align_corners=False)


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
    'fcn_hr18_4xb2-80k_cityscapes-512x1024': hrnet_cfg(18),
    'fcn_hr48_4xb2-80k_cityscapes-512x1024': hrnet_cfg(48),
    'pointrend_r50_4xb2-80k_cityscapes-512x1024': R50_V1C,
    'ann_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'apcnet_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'danet_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'dmnet_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'dnl_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'emanet_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'encnet_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'gcnet_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'nonlocal_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'psanet_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'ccnet_r50-d8_4xb2-80k_cityscapes-512x1024': R50_D8,
    'upernet_r50_4xb2-80k_cityscapes-512x1024': R50_V1C,
    'fpn_r50_4xb2-80k_cityscapes-512x1024': R50_V1C,
    'mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024': M_V2_D8,
    'mobilenet-v2-d8_pspnet_4xb2-80k_cityscapes-512x1024': M_V2_D8,
    'resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024': S101_D8,
    'resnest_s101-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024': S101_D8,
    'bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024': BISENETV2,
    'mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024': M_V3_D8,
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
    # mmseg configs/_base_/models/fast_scnn.py
    'fast_scnn_8xb4-160k_cityscapes-512x1024': dict(
        type='FastSCNN', downsample_dw_channels=(32, 48), global_in_channels=64,
        global_block_channels=(64, 96, 128), global_block_strides=(2, 2, 1),
        global_out_channels=128, higher_in_channels=64, lower_in_channels=128,
        fusion_out_channels=128, out_indices=(0, 1, 2),
        norm_cfg=dict(type='SyncBN', requires_grad=True, momentum=0.01), align_corners=False),
    # mmseg configs/_base_/models/cgnet.py (M3N21)
    'cgnet_fcn_4xb8-60k_cityscapes-512x1024': dict(
        type='CGNet', norm_cfg=dict(type='SyncBN', eps=1e-03, requires_grad=True), in_channels=3,
        num_channels=(32, 64, 128), num_blocks=(3, 21), dilations=(2, 4), reductions=(8, 16)),
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
