"""Detection backbones (issue 3): segdet's ResNet/ResNeXt built as mmdetection's configs build
them have exactly the ``backbone.*`` keys and shapes of mmdetection 3.3.0's models
(tests/data/state_dict_keys, read through ``reference_data``)."""
import pytest
from mmengine.registry import init_default_scope

from reference_data import state_dict_keys
from segdet.registry import MODELS

BN_FROZEN = dict(type='BN', requires_grad=False)
GN = dict(type='GN', num_groups=32, requires_grad=True)
R50 = dict(type='ResNet', depth=50, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
           norm_cfg=BN_FROZEN, norm_eval=True, style='pytorch')
CASES = {
    'faster-rcnn_r50_fpn_1x_coco': R50,
    'mask-rcnn_x101-32x8d_fpn_1x_coco': dict(R50, type='ResNeXt', depth=101, groups=32,
                                             base_width=8),
    'mask-rcnn_r50_fpn_gn-all_2x_coco': dict(R50, norm_cfg=GN),
    'mask-rcnn_r50_fpn_gn-ws-all_2x_coco': dict(R50, norm_cfg=GN, conv_cfg=dict(type='ConvWS')),
    'mask-rcnn_r50-caffe-c4_1x_coco': dict(type='ResNet', depth=50, num_stages=3,
                                           strides=(1, 2, 2), dilations=(1, 1, 1),
                                           out_indices=(2, ), frozen_stages=1,
                                           norm_cfg=BN_FROZEN, norm_eval=True, style='caffe'),
}


def reference_backbone(name: str) -> dict:
    return state_dict_keys(name, prefix='backbone.')


@pytest.mark.parametrize('name', sorted(CASES))
def test_backbone_keys_and_shapes(name: str) -> None:
    init_default_scope('segdet')
    backbone = MODELS.build(CASES[name])
    ours = {k: list(v.shape) for k, v in backbone.state_dict().items()}
    theirs = reference_backbone(name)
    missing, unexpected = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
    assert not missing and not unexpected, (missing[:10], unexpected[:10])
    wrong = {k: (ours[k], theirs[k]) for k in theirs if ours[k] != theirs[k]}
    assert not wrong, list(wrong.items())[:10]


@pytest.mark.parametrize('style, conv1_stride, conv2_stride', [('pytorch', 1, 2),
                                                                ('caffe', 2, 1)])
def test_caffe_style_strides_the_1x1_conv(style, conv1_stride, conv2_stride) -> None:
    init_default_scope('segdet')
    backbone = MODELS.build(dict(type='ResNet', depth=50, style=style))
    block = backbone.layer2[0]
    assert block.conv1.stride == (conv1_stride, conv1_stride)
    assert block.conv2.stride == (conv2_stride, conv2_stride)
