"""Tests of segdet/models/backbones/fast_scnn.py and fast_scnn_modules.py."""
import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import DepthwiseSeparableConvModule
from segmentation_fixtures import assert_loss_falls, make_labels, make_samples

from segdet.models.backbones import FastSCNN
from segdet.models.backbones.fast_scnn_modules import (FeatureFusionModule,
                                                       GlobalFeatureExtractor,
                                                       LearningToDownsample)
from segdet.models.decode_heads import DepthwiseSeparableFCNHead
from segdet.models.utils import InvertedResidual
from segdet.registry import MODELS

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

# mmseg's configs/_base_/models/fast_scnn.py backbone (BN for SyncBN: same layers)
CONFIG = dict(type='FastSCNN', downsample_dw_channels=(32, 48), global_in_channels=64,
              global_block_channels=(64, 96, 128), global_block_strides=(2, 2, 1),
              global_out_channels=128, higher_in_channels=64, lower_in_channels=128,
              fusion_out_channels=128, out_indices=(0, 1, 2), norm_cfg=dict(type='BN'),
              align_corners=False)
# A quarter of the widths (the PPM branches of 32 // 4 = 8 channels).
TINY = dict(downsample_dw_channels=(8, 12), global_in_channels=16,
            global_block_channels=(16, 24, 32), global_out_channels=32, higher_in_channels=16,
            lower_in_channels=32, fusion_out_channels=32)


def test_config_channels_and_strides():
    """The config's three outputs: higher-res (64, stride 8), lower-res (128, stride 32),
    fused (128, stride 8)."""
    model = MODELS.build(CONFIG).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 64))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(1, 64, 4, 8), (1, 128, 1, 2), (1, 128, 4, 8)]
    assert model.out_channels == (64, 128, 128)
    assert outs[2].min() >= 0  # the fusion ends with a ReLU


def test_structure():
    model = FastSCNN(**TINY)
    ltd = model.learning_to_downsample
    assert ltd.conv.conv.stride == (2, 2) and ltd.conv.conv.out_channels == 8
    for ds, (cin, cout) in ((ltd.dsconv1, (8, 12)), (ltd.dsconv2, (12, 16))):
        assert isinstance(ds, DepthwiseSeparableConvModule)
        assert ds.depthwise_conv.conv.groups == cin and ds.depthwise_conv.conv.stride == (2, 2)
        assert ds.pointwise_conv.conv.out_channels == cout
        assert not ds.depthwise_conv.with_activation  # dw_act_cfg=None, as mmseg's config
    gfe = model.global_feature_extractor
    for name, (cin, cout, stride) in zip(('bottleneck1', 'bottleneck2', 'bottleneck3'),
                                         ((16, 16, 2), (16, 24, 2), (24, 32, 1))):
        group = getattr(gfe, name)
        assert len(group) == 3 and all(isinstance(b, InvertedResidual) for b in group)
        assert (group[0].conv[0].conv.in_channels, group[0].stride) == (cin, stride)
        assert group[0].conv[0].conv.out_channels == 6 * cin  # expansion 6
        assert [b.stride for b in group[1:]] == [1, 1]
        assert group[-1].conv[-1].conv.out_channels == cout
        assert type(group[0].conv[0].activate).__name__ == 'ReLU'  # act_cfg, not ReLU6
    assert gfe.ppm.pool_scales == (1, 2, 3, 6)
    assert [branch[1].conv.out_channels for branch in gfe.ppm] == [8] * 4
    assert gfe.out.conv.in_channels == 64
    ffm = model.feature_fusion
    assert ffm.dwconv.conv.groups == 32 and ffm.dwconv.with_activation
    assert not ffm.conv_lower_res.with_activation and not ffm.conv_higher_res.with_activation
    assert [c['type'] for c in model.init_cfg] == ['Kaiming', 'Constant']
    model.init_weights()
    assert torch.all(model.feature_fusion.dwconv.bn.weight == 1)


def test_out_indices_pick_and_order_and_odd_size():
    model = FastSCNN(**TINY, out_indices=(2, 0)).eval()
    with torch.no_grad():
        fused, higher = model(torch.rand(2, 3, 37, 45))
    # sizes rounded up at every stride-2 layer: 37 -> 19 -> 10 -> 5, 45 -> 23 -> 12 -> 6
    assert higher.shape == (2, 16, 5, 6) and fused.shape == (2, 32, 5, 6)
    assert model.out_channels == (32, 16)
    single = FastSCNN(**TINY, out_indices=(1, )).eval()
    with torch.no_grad():
        outs = single(torch.rand(1, 3, 37, 45))
    assert len(outs) == 1 and outs[0].shape == (1, 32, 2, 2)  # 5 -> 3 -> 2


def test_global_block_strides_set_the_low_res_stride():
    model = FastSCNN(**TINY, global_block_strides=(2, 1, 1)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape[2:]) for o in outs] == [(8, 8), (4, 4), (8, 8)]  # stride 16


def test_downsample_strides_give_a_finer_map_with_the_same_parameters():
    """downsample_strides=(2, 2, 1) (the shapes demo's): learning to downsample ends at
    stride 4, so the high-res and fused maps are twice as fine; no parameter changes shape,
    and the default is mmseg's (2, 2, 2)."""
    torch.manual_seed(0)
    default = FastSCNN(**TINY).eval()
    fine = FastSCNN(**TINY, downsample_strides=(2, 2, 1)).eval()
    assert default.downsample_strides == (2, 2, 2)
    assert {k: v.shape for k, v in fine.state_dict().items()} == \
        {k: v.shape for k, v in default.state_dict().items()}
    fine.load_state_dict(default.state_dict())
    assert fine.learning_to_downsample.dsconv2.depthwise_conv.conv.stride == (1, 1)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        outs = fine(x)
        # the same weights with dsconv2's depthwise conv switched to stride 1 by hand
        default.learning_to_downsample.dsconv2.depthwise_conv.conv.stride = (1, 1)
        expected = default(x)
    assert [tuple(o.shape[2:]) for o in outs] == [(16, 16), (4, 4), (16, 16)]
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref)


def test_fusion_upsamples_the_low_res_branch_by_hand():
    torch.manual_seed(0)
    ffm = FeatureFusionModule(higher_in_channels=6, lower_in_channels=8, out_channels=4).eval()
    higher, lower = torch.randn(2, 6, 7, 9), torch.randn(2, 8, 2, 3)
    with torch.no_grad():
        out = ffm(higher, lower)
        up = F.interpolate(lower, size=(7, 9), mode='bilinear', align_corners=False)
        expected = torch.relu(ffm.conv_higher_res(higher) + ffm.conv_lower_res(ffm.dwconv(up)))
    assert out.shape == (2, 4, 7, 9)
    torch.testing.assert_close(out, expected)
    assert ffm.dwconv.conv.groups == 4  # 8 -> 4 channels in 4 groups of 2
    with torch.no_grad():  # a low-res map already at the high-res size is not resized
        same = ffm(higher, torch.randn(2, 8, 7, 9))
    assert same.shape == (2, 4, 7, 9)


def test_modules_alone():
    ltd = LearningToDownsample(1, (4, 6), 8).eval()
    gfe = GlobalFeatureExtractor(8, (8, 8, 8), 12, num_blocks=(1, 1, 2), strides=(1, 2, 2),
                                 pool_scales=(1, 2, 3, 6)).eval()
    with torch.no_grad():
        x = ltd(torch.rand(1, 1, 64, 32))
        y = gfe(x)
    assert x.shape == (1, 8, 8, 4) and y.shape == (1, 12, 2, 1)
    assert [len(gfe.bottleneck1), len(gfe.bottleneck3)] == [1, 2]
    # the input is added back where the shape is kept (stride 1, same width)
    assert gfe.bottleneck1[0].use_res_connect and not gfe.bottleneck2[0].use_res_connect
    with pytest.raises(ValueError, match='need 3 entries each'):
        GlobalFeatureExtractor(8, (8, 8), 12)
    with pytest.raises(ValueError, match='lower_in_channels=6 must be a multiple of '
                                         'out_channels=4'):
        FeatureFusionModule(4, 6, 4)


def test_dw_act_cfg_default_is_act_cfg():
    model = FastSCNN(**TINY, dw_act_cfg='default', act_cfg=dict(type='ReLU6'))
    ds = model.learning_to_downsample.dsconv1
    assert type(ds.depthwise_conv.activate).__name__ == 'ReLU6'
    assert type(ds.pointwise_conv.activate).__name__ == 'ReLU6'


def test_loss_falls_with_its_decode_head():
    """FastSCNN at a quarter of the widths and the config's separable FCN head (sigmoid
    cross-entropy, as in the config) learn one fixed batch: 32x32 noise images whose labels
    are constant on 8x8 blocks (one per stride-8 output pixel)."""
    torch.manual_seed(0)
    backbone = FastSCNN(**TINY)
    head = DepthwiseSeparableFCNHead(
        in_channels=32, channels=32, concat_input=False, num_classes=3, in_index=-1,
        dropout_ratio=0, norm_cfg=dict(type='BN'),
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0))
    model = torch.nn.ModuleDict(dict(backbone=backbone, head=head)).train()
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    blocks = make_labels(2, 4, 4, num_classes=3)
    labels = F.interpolate(blocks[:, None].float(), scale_factor=8, mode='nearest')[:, 0]
    samples = make_samples(labels.long())
    assert_loss_falls(model, lambda: head.loss(backbone(images), samples, {}))


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(out_indices=(0, 3)), ValueError,
     r'out_indices=\(0, 3\) has \[3\]; choose one or more of 0 \(higher_res_features\)'),
    (dict(out_indices=(-1, )), ValueError, r'out_indices=\(-1,\) has \[-1\]'),
    (dict(out_indices=()), ValueError, r'out_indices=\(\) has none'),
    (dict(out_indices=2), TypeError, 'out_indices must be a list/tuple of ints, got int 2'),
    (dict(higher_in_channels=32), ValueError,
     'higher_in_channels=32 must equal global_in_channels=64'),
    (dict(global_out_channels=96), ValueError,
     'lower_in_channels=128 must equal global_out_channels=96'),
    (dict(fusion_out_channels=96), ValueError,
     'lower_in_channels=128 must be a multiple of fusion_out_channels=96'),
    (dict(global_block_strides=(2, 3, 1)), ValueError,
     r'global_block_strides=\(2, 3, 1\): each stride must be 1 or 2'),
    (dict(downsample_strides=(2, 4, 1)), ValueError,
     r'downsample_strides=\(2, 4, 1\): each stride must be 1 or 2'),
    (dict(downsample_strides=(2, 2)), ValueError,
     r'downsample_strides=\(2, 2\) must have 3 entries, got 2'),
    (dict(global_block_strides=(2, 2)), ValueError,
     r'global_block_strides=\(2, 2\) must have 3 entries, got 2'),
    (dict(downsample_dw_channels=(32, 0)), ValueError,
     'downsample_dw_channels entries must be >= 1'),
    (dict(global_block_channels=(64, 96, 3), global_out_channels=128), ValueError,
     r'global_block_channels=\(64, 96, 3\): the last must be >= 4'),
    (dict(in_channels='3'), TypeError, "in_channels must be an int, got str '3'"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        FastSCNN(**kwargs)
