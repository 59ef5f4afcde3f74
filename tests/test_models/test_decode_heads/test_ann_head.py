"""ANNHead (ANN): pyramid-pooled keys (PPMConcat), the asymmetric attention block against its
definition, AFNB / APNB wiring and state-dict names, shapes, a loss-falls run and bad input."""
import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import assert_head_loss_falls, make_feats

from segdet.models.decode_heads import AFNB, APNB, ANNHead, PPMConcat
from segdet.models.decode_heads.ann_head import SelfAttentionBlock

BN = dict(type='BN')
RELU = dict(type='ReLU')


def make_head(**kwargs) -> ANNHead:
    cfg = dict(in_channels=[4, 8], in_index=[0, 1], channels=6, project_channels=2,
               key_pool_scales=(1, 2), num_classes=3, norm_cfg=BN, dropout_ratio=0)
    return ANNHead(**{**cfg, **kwargs})


def test_ppm_concat_hand_computed():
    # 1x1 bin: the mean 2.5; 2x2 bins of a 2x2 map: the pixels, row-major
    x = torch.tensor([[1., 2.], [3., 4.]]).reshape(1, 1, 2, 2)
    torch.testing.assert_close(PPMConcat((1, 2))(x), torch.tensor([[[2.5, 1., 2., 3., 4.]]]))
    assert PPMConcat((1, 3, 6, 8))(torch.zeros(2, 5, 9, 9)).shape == (2, 5, 1 + 9 + 36 + 64)
    assert not list(PPMConcat().parameters())


@pytest.mark.parametrize('query_scale', [1, 2])
def test_attention_block_equals_its_definition(query_scale):
    torch.manual_seed(0)
    block = SelfAttentionBlock(low_in_channels=3, high_in_channels=5, channels=4,
                               out_channels=6, share_key_query=False, query_scale=query_scale,
                               key_pool_scales=(1, 2), conv_cfg=None, norm_cfg=None,
                               act_cfg=RELU)
    torch.testing.assert_close(block.out_project.weight, torch.zeros(6, 4, 1, 1))  # no-op start
    with torch.no_grad():
        block.out_project.weight.normal_()
        block.out_project.bias.normal_()
    query_feats, key_feats = make_feats([(2, 5, 5, 7), (2, 3, 4, 4)])
    q = block.query_project(query_feats)                       # ConvModule: conv + ReLU
    if query_scale > 1:
        q = F.max_pool2d(q, query_scale)
    pool = PPMConcat((1, 2))
    k = pool(block.key_project(key_feats))                     # (N, 4, 5): 1 + 4 positions
    v = pool(block.value_project(key_feats))
    attn = F.softmax(torch.einsum('ncl,ncm->nlm', q.flatten(2), k) / 2, dim=-1)  # 1/sqrt(4)
    context = torch.einsum('nlm,ncm->ncl', attn, v).reshape(2, 4, *q.shape[2:])
    expected = F.interpolate(block.out_project(context), size=(5, 7), mode='bilinear')
    torch.testing.assert_close(block(query_feats, key_feats), expected)


def test_afnb_and_apnb_wiring():
    torch.manual_seed(0)
    cfg = dict(key_pool_scales=(1, 2), conv_cfg=None, norm_cfg=None, act_cfg=RELU)
    afnb = AFNB(low_in_channels=3, high_in_channels=5, channels=2, out_channels=5,
                query_scales=(1, 2), **cfg)
    low, high = make_feats([(2, 3, 4, 4), (2, 5, 4, 4)])
    for stage in afnb.stages:
        torch.nn.init.normal_(stage.out_project.weight)
    context = afnb.stages[0](high, low) + afnb.stages[1](high, low)
    torch.testing.assert_close(afnb(low, high),
                               afnb.bottleneck(torch.cat([context, high], dim=1)))
    apnb = APNB(in_channels=5, channels=2, out_channels=5, query_scales=(1, ), **cfg)
    stage = apnb.stages[0]
    assert stage.query_project is stage.key_project            # shared projection
    torch.testing.assert_close(apnb(high), apnb.bottleneck(torch.cat([stage(high, high), high],
                                                                     dim=1)))


def test_state_dict_names_and_shapes():
    head = make_head(query_scales=(1, 2))
    shapes = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    assert shapes['fusion.stages.1.query_project.conv.weight'] == (2, 8, 1, 1)
    assert shapes['fusion.stages.1.key_project.conv.weight'] == (2, 4, 1, 1)
    assert shapes['fusion.stages.0.value_project.weight'] == (2, 4, 1, 1)
    assert shapes['fusion.stages.0.out_project.weight'] == (8, 2, 1, 1)
    assert shapes['fusion.bottleneck.conv.weight'] == (8, 16, 1, 1)
    assert shapes['bottleneck.conv.weight'] == (6, 8, 3, 3)
    # APNB shares its key/query projection: both names are in the state dict (as in mmseg)
    assert shapes['context.stages.0.query_project.conv.weight'] == (2, 6, 1, 1)
    assert 'context.stages.0.key_project.conv.weight' in shapes
    assert shapes['context.bottleneck.conv.weight'] == (6, 12, 1, 1)
    assert not any('PPM' in k or 'downsample' in k for k in shapes)   # pools: no parameters


@pytest.mark.parametrize('query_scales', [(1, ), (1, 2)])
def test_output_shape(query_scales):
    head = make_head(query_scales=query_scales)
    # the low-level map may have another size: its keys are pooled to fixed bins
    feats = make_feats([(2, 4, 9, 9), (2, 8, 5, 7)])
    assert head(feats).shape == (2, 3, 5, 7)


def test_loss_falls_by_half_in_ten_steps():
    torch.manual_seed(0)
    head = make_head(in_channels=[4, 4], channels=16, project_channels=8)
    assert_head_loss_falls(head, inputs=lambda x: [x, x])  # the same map as low and high


def test_bad_input():
    with pytest.raises(ValueError, match=r'ANNHead: in_channels \(and in_index\) must list 2 '
                                         r'maps.*in_channels=\[2, 4, 8\]'):
        make_head(in_channels=[2, 4, 8], in_index=[0, 1, 2])
    with pytest.raises(ValueError, match='in_channels and in_index of equal length'):
        make_head(in_index=[0, 1, 2])
    with pytest.raises(ValueError, match="input_transform is always 'multiple_select'"):
        make_head(input_transform='resize_concat')
    with pytest.raises(ValueError, match='project_channels must be >= 1, got 0'):
        make_head(project_channels=0)
    with pytest.raises(ValueError, match='query_scales must not be empty'):
        make_head(query_scales=())
    with pytest.raises(TypeError, match='key_pool_scales must be a list/tuple'):
        make_head(key_pool_scales=8)
    with pytest.raises(ValueError, match=r'in_channels=\[4, 8\] does not match.*in_index=\[0, '
                                         r'1\], which have \[8, 4\] channels'):
        make_head()(make_feats([(1, 8, 6, 6), (1, 4, 6, 6)]))
    with pytest.raises(IndexError, match=r'in_index=\[0, 3\]'):
        make_head(in_index=[0, 3])(make_feats([(1, 4, 6, 6), (1, 8, 6, 6)]))
