"""FPN: mmdetection's keys and shapes, top-down arithmetic, extra levels."""
import pytest
import torch
from mmengine.registry import init_default_scope

from reference_data import state_dict_keys
from segdet.registry import MODELS


def neck_keys(name: str) -> dict:
    """The ``neck.*`` keys and shapes of mmdetection 3.3.0's model ``name``
    (tests/data/state_dict_keys)."""
    return state_dict_keys(name, prefix='neck.')


@pytest.mark.parametrize('name, extra', [
    ('faster-rcnn_r50_fpn_1x_coco', {}),
    ('mask-rcnn_r50_fpn_gn-all_2x_coco', dict(norm_cfg=dict(type='GN', num_groups=32))),
    ('mask-rcnn_r50_fpn_gn-ws-all_2x_coco', dict(norm_cfg=dict(type='GN', num_groups=32),
                                                 conv_cfg=dict(type='ConvWS'))),
])
def test_keys_and_shapes_match_mmdet(name, extra) -> None:
    init_default_scope('segdet')
    fpn = MODELS.build(dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256,
                            num_outs=5, **extra))
    ours = {k: list(v.shape) for k, v in fpn.state_dict().items()}
    assert ours == neck_keys(name)


def test_top_down_sum_and_maxpool_levels() -> None:
    init_default_scope('segdet')
    fpn = MODELS.build(dict(type='FPN', in_channels=[2, 2], out_channels=2, num_outs=4))
    with torch.no_grad():
        for conv in fpn.lateral_convs:  # identity 1x1
            conv.conv.weight.copy_(torch.eye(2)[:, :, None, None])
            conv.conv.bias.zero_()
        for conv in fpn.fpn_convs:  # identity 3x3 (centre tap)
            conv.conv.weight.zero_()
            conv.conv.weight[:, :, 1, 1] = torch.eye(2)
            conv.conv.bias.zero_()
    c2, c3 = torch.randn(1, 2, 8, 8), torch.randn(1, 2, 4, 4)
    p2, p3, p4, p5 = fpn([c2, c3])
    torch.testing.assert_close(p3, c3)
    torch.testing.assert_close(p2, c2 + c3.repeat_interleave(2, 2).repeat_interleave(2, 3))
    torch.testing.assert_close(p4, p3[:, :, ::2, ::2])  # max_pool2d(1, stride=2)
    assert p5.shape == (1, 2, 1, 1)


def test_extra_convs_on_input_and_errors() -> None:
    init_default_scope('segdet')
    fpn = MODELS.build(dict(type='FPN', in_channels=[4, 8], out_channels=6, num_outs=4,
                            add_extra_convs='on_input', relu_before_extra_convs=True))
    assert fpn.fpn_convs[2].conv.in_channels == 8 and fpn.fpn_convs[3].conv.in_channels == 6
    outs = fpn([torch.randn(1, 4, 16, 16), torch.randn(1, 8, 8, 8)])
    assert [tuple(o.shape[2:]) for o in outs] == [(16, 16), (8, 8), (4, 4), (2, 2)]
    with pytest.raises(ValueError, match='add_extra_convs'):
        MODELS.build(dict(type='FPN', in_channels=[4], out_channels=4, num_outs=2,
                          add_extra_convs='on_top'))
    with pytest.raises(ValueError, match='expected 2 inputs'):
        fpn([torch.randn(1, 4, 16, 16)])
