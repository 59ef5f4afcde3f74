"""Tests of segdet/models/backbones/resnest.py (ResNeSt and its split-attention bottleneck)."""
import pytest
import torch
from torch import nn

from segdet.models.backbones import ResNeSt
from segdet.models.backbones.resnest import ResNeStBottleneck
from segdet.models.decode_heads import FCNHead
from segdet.models.utils import SplitAttentionConv2d
from segdet.registry import MODELS
from segmentation_fixtures import assert_loss_falls, make_samples

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

# The backbone settings of mmseg's resnest_s101-d8_* configs (R-101-D8 + ResNeSt arguments).
D8 = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4), contract_dilation=True,
          out_indices=(0, 1, 2, 3), radix=2, reduction_factor=4, avg_down_stride=True)
# Depth 50 at 1/8 of the widths: stages of 32, 64, 128, 256 channels.
TINY = dict(depth=50, stem_channels=16, base_channels=8, **D8)


def test_d8_out_channels_and_strides():
    model = MODELS.build(dict(type='ResNeSt', **TINY)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 48))
    # strides 4, 8, 8, 8: the D8 configs' decode head reads index 3, the auxiliary head 2
    assert [tuple(o.shape[1:]) for o in outs] == [(32, 8, 12), (64, 4, 6), (128, 4, 6),
                                                   (256, 4, 6)]
    with torch.no_grad():
        odd = model(torch.rand(1, 3, 33, 47))
    assert [tuple(o.shape[2:]) for o in odd] == [(9, 12), (5, 6), (5, 6), (5, 6)]


def test_s101_layout():
    """S-101 as the configs build it: V1d deep stem of 128 channels, AvgPool shortcuts, the
    stride of layer2 in an AvgPool after the split-attention conv, dilated layers 3 and 4."""
    with torch.device('meta'):
        model = ResNeSt(depth=101, stem_channels=128, **D8)
    assert [model.stem[i].out_channels for i in (0, 3, 6)] == [64, 64, 128]
    assert [len(getattr(model, f'layer{i}')) for i in range(1, 5)] == [3, 4, 23, 3]
    blocks = [b for b in model.modules() if isinstance(b, ResNeStBottleneck)]
    assert [b for b in blocks if hasattr(b, 'avd_layer')] == [model.layer2[0]]
    first = model.layer2[0]
    assert first.avd_layer.stride == 2 and first.conv2.conv.stride == (1, 1)
    assert isinstance(first.downsample[0], nn.AvgPool2d)
    attention = model.layer4[1].conv2
    assert isinstance(attention, SplitAttentionConv2d)
    assert (attention.conv.in_channels, attention.conv.out_channels, attention.conv.groups,
            attention.conv.dilation) == (512, 1024, 2, (4, 4))
    assert model.layer3[0].conv2.conv.dilation == (1, 1)  # contract_dilation: 2 // 2
    assert not hasattr(model.layer1[0], 'bn2')


def test_avg_down_stride_off_puts_the_stride_in_the_conv():
    model = ResNeSt(depth=50, stem_channels=16, base_channels=8,
                    **{**D8, 'avg_down_stride': False}).eval()
    assert not hasattr(model.layer2[0], 'avd_layer')
    assert model.layer2[0].conv2.conv.stride == (2, 2)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outs][1] == (64, 4, 4)


def test_groups_and_base_width_set_the_inner_width():
    # floor(planes * 16 / 8) * 2 = 4 * planes: 32 in layer1, 256 in layer4
    model = ResNeSt(**{**TINY, 'groups': 2, 'base_width': 16, 'radix': 1}).eval()
    assert model.layer1[0].conv2.conv.out_channels == 32
    assert model.layer4[0].conv2.conv.groups == 2 and model.layer4[0].conv1.out_channels == 256
    with torch.no_grad():
        assert model(torch.rand(1, 3, 16, 16))[3].shape == (1, 256, 2, 2)


def test_zero_init_residual():
    model = ResNeSt(**TINY)
    model.init_weights()
    blocks = [b for b in model.modules() if isinstance(b, ResNeStBottleneck)]
    assert len(blocks) == 16 and all(torch.all(b.norm3.weight == 0) for b in blocks)
    assert all(torch.all(b.conv2.norm0.weight == 1) for b in blocks)


def test_loss_falls_with_fcn_head():
    """Tiny ResNeSt-D8 and the FCN configs' head learn one fixed batch: 32x32 images whose
    colour tells the class, labels constant on 8x8 blocks (one per stride-8 output pixel)."""
    torch.manual_seed(0)
    num_classes = 3
    backbone = ResNeSt(**TINY)
    backbone.init_weights()  # the default init: every block starts as the identity
    head = FCNHead(in_channels=256, in_index=3, channels=16, num_convs=2, concat_input=True,
                   dropout_ratio=0, num_classes=num_classes, norm_cfg=dict(type='BN'))
    coarse = torch.randint(0, num_classes, (2, 4, 4), generator=torch.Generator().manual_seed(1))
    labels = coarse.repeat_interleave(8, 1).repeat_interleave(8, 2)
    palette = torch.rand(num_classes, 3, generator=torch.Generator().manual_seed(2))
    images = palette[labels].permute(0, 3, 1, 2) + 0.05 * torch.randn(2, 3, 32, 32)
    samples = make_samples(labels)
    model = nn.ModuleList([backbone, head]).train()
    assert_loss_falls(model, lambda: head.loss(backbone(images), samples, {}))


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(radix=0), ValueError, 'ResNeSt: radix must be >= 1, got 0'),
    (dict(groups=0), ValueError, 'ResNeSt: groups must be >= 1, got 0'),
    (dict(base_width=0), ValueError, 'ResNeSt: base_width must be >= 1, got 0'),
    (dict(base_width=4.0), TypeError, 'ResNeSt: base_width must be an int'),
    (dict(reduction_factor=0), ValueError, 'ResNeSt: reduction_factor must be >= 1'),
    # an 8-channel first stage does not split into 3 radix groups
    (dict(radix=3), ValueError, r'in_channels=8 must be divisible by groups \* radix'),
    (dict(depth=34), KeyError, r'invalid depth 34, choose from \[50, 101, 152, 200\]'),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        ResNeSt(**{**TINY, **kwargs})


def test_bottleneck_rejects_a_width_of_zero_per_group():
    # floor(8 * 4 / 64) * 2 = 0 channels
    with pytest.raises(ValueError, match=r'base_width=4 with groups=2 gives an inner width of '
                                         r'floor\(8 \* 4 / 64\) \* 2 = 0'):
        ResNeStBottleneck(32, 8, groups=2, base_width=4, base_channels=64)
    with pytest.raises(NotImplementedError, match='dcn'):
        ResNeStBottleneck(32, 8, dcn=dict(type='DCNv2'))
