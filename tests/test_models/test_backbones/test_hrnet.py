"""Tests of segdet/models/backbones/hrnet.py and hrnet_modules.py."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.backbones import HRModule, HRNet
from segdet.models.backbones.hrnet_modules import build_transition, upsample_to
from segdet.models.backbones.resnet_blocks import BasicBlock, Bottleneck
from segdet.registry import MODELS

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)


def hrnet_extra(width: int, stage1_channels: int = 64, num_blocks: int = 4,
                num_modules=(1, 1, 4, 3)) -> dict:
    """``extra`` of HRNetV2-W{width}; fewer blocks/modules for fast tests."""
    widths = [width * 2**i for i in range(4)]
    extra = dict(stage1=dict(num_modules=num_modules[0], num_branches=1, block='BOTTLENECK',
                             num_blocks=(num_blocks, ), num_channels=(stage1_channels, )))
    for s in (2, 3, 4):
        extra[f'stage{s}'] = dict(num_modules=num_modules[s - 1], num_branches=s, block='BASIC',
                                  num_blocks=(num_blocks, ) * s,
                                  num_channels=tuple(widths[:s]))
    return extra


TINY = hrnet_extra(4, stage1_channels=8, num_blocks=1, num_modules=(1, 1, 2, 2))


def test_w18_channels_and_strides():
    """W18 widths (fewer blocks): 4 branches at strides 4, 8, 16, 32."""
    model = HRNet(hrnet_extra(18, num_blocks=1, num_modules=(1, 1, 1, 1))).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 18, 16, 16), (1, 36, 8, 8), (1, 72, 4, 4),
                                               (1, 144, 2, 2)]
    with torch.device('meta'):
        full = HRNet(hrnet_extra(18))
    assert len(full.stage3) == 4 and len(full.stage4) == 3 and len(full.layer1) == 4
    assert [len(b) for b in full.stage4[2].branches] == [4, 4, 4, 4]


def test_tiny_forward_and_registry():
    model = MODELS.build(dict(type='HRNet', extra=TINY, in_channels=1)).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 1, 32, 48))
    assert [tuple(o.shape) for o in outs] == [(2, 4, 8, 12), (2, 8, 4, 6), (2, 16, 2, 3),
                                               (2, 32, 1, 2)]
    assert all(torch.all(o >= 0) for o in outs)  # every fused output ends with a ReLU


def test_multiscale_output_false():
    model = HRNet(TINY, multiscale_output=False).eval()
    assert len(model.stage4[-1].fuse_layers) == 1  # only the last module drops branches
    assert len(model.stage4[0].fuse_layers) == 4
    assert len(model.stage3[-1].fuse_layers) == 3
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32))
    assert len(outs) == 1 and outs[0].shape == (1, 4, 8, 8)


def test_odd_input_size():
    model = HRNet(TINY).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 37, 45))
    assert [tuple(o.shape[2:]) for o in outs] == [(10, 12), (5, 6), (3, 3), (2, 2)]


def test_hr_module_fusion_by_hand():
    torch.manual_seed(0)
    module = HRModule(2, BasicBlock, num_blocks=(1, 1), in_channels=[4, 8],
                      num_channels=[4, 8]).eval()
    x0, x1 = torch.randn(1, 4, 8, 8), torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        out0, out1 = module([x0, x1])
        b0, b1 = module.branches[0](x0), module.branches[1](x1)
        up = F.interpolate(module.fuse_layers[0][1](b1), scale_factor=2, mode='bilinear',
                           align_corners=False)
        down = module.fuse_layers[1][0](b0)
    torch.testing.assert_close(out0, torch.relu(b0 + up))
    torch.testing.assert_close(out1, torch.relu(down + b1))
    assert module.fuse_layers[0][0] is None and module.fuse_layers[1][1] is None
    # 1x1 conv + norm up; stride-2 3x3 conv + norm down (no ReLU before the sum).
    assert module.fuse_layers[0][1][0].kernel_size == (1, 1)
    assert len(module.fuse_layers[1][0]) == 1 and len(module.fuse_layers[1][0][0]) == 2


def test_hr_module_three_level_downsample_chain():
    module = HRModule(3, BasicBlock, (1, 1, 1), [2, 4, 8], [2, 4, 8])
    chain = module.fuse_layers[2][0]  # branch 0 -> branch 2: two stride-2 convs
    assert [(s[0].in_channels, s[0].out_channels, s[0].stride[0]) for s in chain] == [
        (2, 2, 2), (2, 8, 2)]
    assert isinstance(chain[0][2], nn.ReLU) and len(chain[1]) == 2
    with pytest.raises(ValueError, match='num_channels'):
        HRModule(2, BasicBlock, (1, 1), [2, 4], [2])


def test_upsample_to():
    x = torch.randn(1, 2, 3, 4)
    torch.testing.assert_close(
        upsample_to(x, 2, (6, 8)),
        F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False))
    # Odd target (from an odd input): nominal x2 first, then resize to the exact size.
    odd = upsample_to(x, 2, (5, 7))
    two_step = F.interpolate(F.interpolate(x, size=(6, 8), mode='bilinear', align_corners=False),
                             size=(5, 7), mode='bilinear', align_corners=False)
    torch.testing.assert_close(odd, two_step)
    nearest = upsample_to(x, 2, (6, 8), mode='nearest')
    torch.testing.assert_close(nearest, x.repeat_interleave(2, 2).repeat_interleave(2, 3))


def test_build_transition():
    first = build_transition([256], [18, 36], None, dict(type='BN'))
    assert first[0][0].stride == (1, 1) and first[0][0].out_channels == 18
    assert len(first[1]) == 1 and first[1][0][0].stride == (2, 2)
    same = build_transition([18, 36], [18, 36, 72], None, dict(type='BN'))
    assert same[0] is None and same[1] is None and same[2][0][0].in_channels == 36
    two_new = build_transition([8], [8, 16, 32], None, dict(type='BN'))
    assert two_new[0] is None
    assert [(s[0].in_channels, s[0].out_channels) for s in two_new[2]] == [(8, 8), (8, 32)]


def test_identity_transition_passes_tensors_through():
    feats = [torch.randn(1, 4, 8, 8), torch.randn(1, 8, 4, 4)]
    transition = build_transition([4, 8], [4, 8, 16], None, dict(type='BN')).eval()
    out = HRNet._apply_transition(transition, feats)
    assert out[0] is feats[0] and out[1] is feats[1]
    assert out[2].shape == (1, 16, 2, 2)  # new branch made from the lowest resolution


@pytest.mark.parametrize('frozen', [1, 2, 4])
def test_frozen_stages(frozen):
    model = HRNet(TINY, frozen_stages=frozen).train()
    stem = [model.conv1, model.norm1, model.conv2, model.norm2]
    parts = {1: [model.layer1, model.transition1], 2: [model.stage2, model.transition2],
             3: [model.stage3, model.transition3], 4: [model.stage4]}
    for k, mods in parts.items():
        for m in (stem + mods if k == 1 else mods):
            grads = {p.requires_grad for p in m.parameters()}
            assert grads == ({False} if k <= frozen else {True}), (k, m)
            bns = {b.training for b in m.modules() if isinstance(b, _BatchNorm)}
            assert bns <= ({False} if k <= frozen else {True})


def test_norm_eval():
    model = HRNet(TINY, norm_eval=True).train()
    before = copy.deepcopy(model.state_dict())
    model(torch.rand(2, 3, 32, 32))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if 'running' in k)
    assert not any(m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_zero_init_residual():
    model = HRNet(TINY, zero_init_residual=True)
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]
    assert blocks and all(torch.all(b.last_norm.weight == 0) for b in blocks)
    default = HRNet(TINY)  # mmseg's default: no zero init
    default.init_weights()
    assert all(torch.all(b.last_norm.weight == 1) for b in default.modules()
               if isinstance(b, (BasicBlock, Bottleneck)))


def test_extra_validation():
    bad = copy.deepcopy(TINY)
    del bad['stage3']
    with pytest.raises(KeyError, match='stage3'):
        HRNet(bad)
    bad = copy.deepcopy(TINY)
    bad['stage2']['block'] = 'BASICX'
    with pytest.raises(KeyError, match='stage2.block'):  # an unknown block name
        HRNet(bad)
    bad = copy.deepcopy(TINY)
    bad['stage4']['num_channels'] = (4, 8, 16)
    with pytest.raises(ValueError, match='stage4'):
        HRNet(bad)
    with pytest.raises(ValueError, match='frozen_stages'):
        HRNet(TINY, frozen_stages=5)
    with pytest.warns(DeprecationWarning):
        model = HRNet(TINY, pretrained='open-mmlab://msra/hrnetv2_w18')
    assert model.init_cfg['type'] == 'Pretrained'
