"""Tests of segdet/models/backbones/fbnet.py, fbnet_blocks.py and fbnet_archs.py: the IRF block
of every op, channel shuffle, SE, skip, width rounding, the three archs' trunk stages and the
errors for unknown names."""
import pytest
import torch
import torch.nn.functional as F

from segdet.models.backbones import FBNet
from segdet.models.backbones.fbnet_archs import FBNET_ARCHS, part_specs, resolve_arch
from segdet.models.backbones.fbnet_blocks import (FBNET_OPS, FBNetSE, FBNetSkip, IRFBlock,
                                                  build_fbnet_block, channel_shuffle,
                                                  fbnet_round_channels)
from segdet.registry import MODELS

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)


def test_round_channels_as_maskrcnn_benchmark():
    # round half up to a multiple of the divisor, never below one divisor
    assert [fbnet_round_channels(n, 8) for n in (8, 12, 36, 44, 96, 100, 1064, 3)] == \
        [8, 16, 40, 48, 96, 104, 1064, 8]
    assert fbnet_round_channels(57.9, 1) == 57


def test_channel_shuffle_by_hand():
    x = torch.arange(6.).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    assert torch.equal(channel_shuffle(x, 1), x)
    with pytest.raises(ValueError, match='4 groups'):
        channel_shuffle(x, 4)


def _dw_convs(block: IRFBlock) -> list:
    if block.dw is None:
        return []
    modules = list(block.dw) if isinstance(block.dw, torch.nn.Sequential) else [block.dw]
    return [m.conv for m in modules]


@pytest.mark.parametrize('op', sorted(FBNET_OPS))
@pytest.mark.parametrize('stride', [1, 2, -2])
def test_every_op_builds_the_block_it_names(op, stride):
    spec = FBNET_OPS[op]
    if spec.skip and stride < 0:
        return
    if spec.kernel == 1 and stride > 1:
        with pytest.raises(ValueError, match='kernel=1 has no depthwise conv'):
            build_fbnet_block(op, 16, 32, expansion=4, stride=stride)
        return
    block = build_fbnet_block(op, 16, 32, expansion=4, stride=stride, width_divisor=8)
    out = block.eval()(torch.rand(2, 16, 7, 9))
    size = {1: (7, 9), 2: (4, 5), -2: (14, 18)}[stride]
    assert out.shape == (2, 32, *size) and block.out_channels == 32
    if spec.skip:
        assert isinstance(block, FBNetSkip)
        return
    assert isinstance(block, IRFBlock)
    expansion = 4 if spec.expansion is None else spec.expansion
    assert block.mid_channels == fbnet_round_channels(16 * expansion, 8)
    assert block.pw.conv.groups == block.pwl.conv.groups == spec.groups
    assert (block.shuffle is not None) == (spec.groups > 1)
    assert (block.se is not None) == op.endswith('_se')
    assert (block.se is not None) == spec.se
    dws = _dw_convs(block)
    assert len(dws) == (0 if spec.kernel == 1 else 2 if spec.cdw else 1)
    for i, conv in enumerate(dws):
        assert conv.kernel_size == (spec.kernel, spec.kernel)
        assert conv.groups == conv.in_channels == block.mid_channels
        assert conv.stride == ((max(stride, 1), ) * 2 if i == 0 else (1, 1))
    assert not block.use_res_connect  # 16 -> 32 channels


def test_op_names_and_widths_of_maskrcnn_benchmark():
    assert {'skip', 'ir_k3', 'ir_k5', 'ir_k7', 'ir_k1', 'shuffle', 'ir_k3_s4_se',
            'ir_k5_s2', 'ir_k33_e6', 'ir_k7_sep_e3'} <= set(FBNET_OPS)
    assert len(FBNET_OPS) == 37
    shuffle = build_fbnet_block('shuffle', 32, 32, expansion=6, stride=1)
    assert shuffle.mid_channels == 192 and shuffle.pw.conv.groups == 4
    s2 = build_fbnet_block('ir_k5_s2', 32, 64, expansion=6, stride=1)  # fixed expansion 1
    assert s2.mid_channels == 32 and s2.pw.conv.groups == 2


def test_irf_block_residual_and_shuffle_order():
    block = IRFBlock(8, 8, expansion=2, stride=1, groups=2, shuffle=True).eval()
    assert block.use_res_connect
    # A zero projection leaves the residual alone: the block is the identity.
    torch.nn.init.zeros_(block.pwl.bn.weight)
    torch.nn.init.zeros_(block.pwl.bn.bias)
    x = torch.randn(2, 8, 5, 5)
    torch.testing.assert_close(block(x), x)
    # The shuffle sits between the expansion and the depthwise conv.
    calls = []
    block.shuffle.register_forward_hook(lambda m, i, o: calls.append((i[0], o)))
    block(x)
    torch.testing.assert_close(calls[0][1], channel_shuffle(block.pw(x), 2))


def test_depthwise_norm_and_relu_are_skipped_as_configured():
    kept = IRFBlock(8, 8, kernel=3, dw_skip_bn=False, dw_skip_relu=False)
    assert kept.dw.with_norm and kept.dw.with_activation
    skipped = IRFBlock(8, 8, kernel=3, dw_skip_bn=True, dw_skip_relu=True)
    assert not skipped.dw.with_norm and not skipped.dw.with_activation
    assert skipped.dw.conv.bias is None  # no bias even without a norm
    cdw = IRFBlock(8, 8, kernel=3, cdw=True, dw_skip_bn=True, dw_skip_relu=True)
    assert cdw.dw[0].with_norm and cdw.dw[0].with_activation
    assert not cdw.dw[1].with_norm and not cdw.dw[1].with_activation
    dilated = IRFBlock(8, 8, kernel=5, dilation=2)
    assert dilated.dw.conv.dilation == (2, 2) and dilated.dw.conv.padding == (4, 4)
    assert dilated(torch.rand(1, 8, 9, 9)).shape == (1, 8, 9, 9)


def test_se_gate_after_the_residual():
    se = FBNetSE(16)
    assert (se.conv1.out_channels, FBNetSE(64).conv1.out_channels) == (8, 16)  # max(C/4, 8)
    x = torch.randn(2, 16, 3, 3)
    s = se.conv2(F.relu(se.conv1(x.mean((2, 3), keepdim=True))))
    torch.testing.assert_close(se(x), x * torch.sigmoid(s))
    hard = FBNetSE(16, gate='hsigmoid')
    s = hard.conv2(F.relu(hard.conv1(x.mean((2, 3), keepdim=True))))
    torch.testing.assert_close(hard(x), x * (F.relu6(s + 3) / 6))
    block = build_fbnet_block('ir_k3_e3_se', 16, 16, expansion=6, stride=1).eval()
    y = block.pwl(block.dw(block.pw(x))) + x
    torch.testing.assert_close(block(x), block.se(y))
    with pytest.raises(ValueError, match="gate must be one of"):
        FBNetSE(16, gate='tanh')


def test_skip_is_identity_or_a_projection():
    x = torch.rand(2, 16, 7, 7)
    assert build_fbnet_block('skip', 16, 16, expansion=6, stride=1)(x) is x
    proj = build_fbnet_block('skip', 16, 24, expansion=6, stride=2)
    assert proj(x).shape == (2, 24, 4, 4) and proj.conv.conv.kernel_size == (1, 1)


def test_bad_block_arguments_name_themselves():
    with pytest.raises(KeyError, match=r"unknown block op 'ir_k9'.*'ir_k3'"):
        build_fbnet_block('ir_k9', 8, 8, expansion=1, stride=1)
    with pytest.raises(ValueError, match='groups=4 .*in_channels=6'):
        IRFBlock(6, 8, expansion=4, groups=4)
    with pytest.raises(ValueError, match='stride must be one of'):
        IRFBlock(8, 8, stride=3)
    with pytest.raises(ValueError, match='kernel must be 1, 3, 5 or 7'):
        IRFBlock(8, 8, kernel=4)


# Per arch: stem width, then per trunk stage (channels, stride, number of blocks); the widths
# and block counts of fbnet_modeldef.py, the strides 2 (stem) x 1, 2, 2, 2.
TRUNKS = {
    'default': (32, [(16, 2, 1), (24, 4, 2), (32, 8, 3), (96, 16, 7)]),
    'cham_v1a': (32, [(24, 2, 1), (48, 4, 2), (64, 8, 5), (88, 16, 12)]),
    'xirb16d_dsmask': (16, [(16, 2, 1), (32, 4, 2), (48, 8, 3), (128, 16, 7)]),
}


@pytest.mark.parametrize('arch', sorted(TRUNKS))
def test_trunk_stages_of_each_arch(arch):
    stem, stages = TRUNKS[arch]
    model = MODELS.build(dict(type='FBNet', arch=arch, out_indices=(0, 1, 2, 3))).eval()
    assert model.first.conv.out_channels == stem and model.first.conv.stride == (2, 2)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 80))
    assert [tuple(o.shape) for o in outs] == [(1, c, 64 // s, 80 // s) for c, s, _ in stages]
    assert [model.stage_channels[i] for i in range(4)] == [c for c, _, _ in stages]
    assert [model.stage_strides[i] for i in range(4)] == [s for _, s, _ in stages]
    names = [name for name, _ in model.stages.named_children()]
    assert names == [f'xif{i}_{j}' for i, (_, _, n) in enumerate(stages) for j in range(n)]
    assert model.out_channels == stages[-1][0]
    # the default output: the last trunk stage only, at stride 16
    default = MODELS.build(dict(type='FBNet', arch=arch)).eval()
    with torch.no_grad():
        (out, ) = default(torch.rand(1, 3, 48, 64))
    assert out.shape == (1, stages[-1][0], 3, 4) and default.out_channels == stages[-1][0]


def test_cham_v1a_kernels_and_expansions():
    model = FBNet('cham_v1a')
    stages = model.stages
    assert stages.xif1_0.dw.conv.kernel_size == (7, 7)
    kernels = [getattr(stages, f'xif3_{j}').dw.conv.kernel_size[0] for j in range(12)]
    assert kernels == [5] * 7 + [3] * 5
    assert stages.xif3_0.mid_channels == 64 * 12 and stages.xif3_7.mid_channels == 56 * 8
    assert stages.xif2_0.dw.conv.stride == (2, 2) and stages.xif2_1.dw.conv.stride == (1, 1)


def test_width_ratio_and_custom_arch():
    half = FBNet('default', width_ratio=0.5)
    assert [half.stage_channels[i] for i in range(4)] == [8, 16, 16, 48]  # 12 -> 16
    tiny = dict(block_op_type=[['ir_k3'], ['skip', 'ir_k5_e3_se']],
                block_cfg=dict(first=[8, 2], stages=[[[1, 8, 1, 1]], [[2, 16, 2, 2]]],
                               backbone=[0, 1]))
    model = FBNet(tiny, out_indices=[1])
    assert model.arch == 'custom' and model.out_channels == 16
    assert isinstance(model.stages.xif1_0, FBNetSkip) and model.stages.xif1_1.se is not None
    assert model(torch.rand(1, 3, 16, 16))[0].shape == (1, 16, 4, 4)


def test_head_parts_of_the_arch_definitions():
    arch = resolve_arch('default')
    assert [(s.op, s.channels, s.stride) for s in part_specs(arch, 'bbox')] == [
        ('ir_k3', 160, 2), ('ir_k3', 160, 1), ('ir_k3', 160, 1), ('ir_k3', 240, 1)]
    assert [s.stride for s in part_specs(arch, 'mask')] == [1, 1, 1, 1, -2]
    dsmask = resolve_arch('xirb16d_dsmask')
    assert [s.stride for s in part_specs(dsmask, 'mask')] == [2, 1, 1, -2, -2]
    assert resolve_arch('cham_v1a') is not FBNET_ARCHS['cham_v1a']  # a copy
    with pytest.raises(KeyError, match=r"no 'mask' stages .*\['backbone', 'rpn', 'bbox'\]"):
        part_specs(resolve_arch('cham_v1a'), 'mask')


def test_unknown_arch_and_bad_definitions():
    with pytest.raises(KeyError, match=r"unknown arch 'fbnet_b'.*'cham_v1a', 'default', "
                                       r"'xirb16d_dsmask'"):
        MODELS.build(dict(type='FBNet', arch='fbnet_b'))
    with pytest.raises(TypeError, match='arch must be an arch name or a dict'):
        FBNet(3)
    bad = dict(block_op_type=[['ir_k3']], block_cfg=dict(first=[8, 2],
                                                         stages=[[[1, 8, 2, 1]]]))
    with pytest.raises(ValueError, match='2 blocks in block_cfg.stages but 1 ops'):
        FBNet(bad)
    with pytest.raises(KeyError, match="no 'block_cfg'"):
        FBNet(dict(block_op_type=[]))
    bad_first = dict(block_op_type=[['ir_k3']], block_cfg=dict(first=[16],
                                                               stages=[[[1, 8, 1, 1]]]))
    with pytest.raises(ValueError, match=r'block_cfg.first=\[16\] must be \[channels, stride\]'):
        FBNet(bad_first)
    bad_op = dict(block_op_type=[['ir_k4']], block_cfg=dict(first=[8, 2],
                                                            stages=[[[1, 8, 1, 1]]],
                                                            backbone=[0]))
    with pytest.raises(KeyError, match="unknown block op 'ir_k4'"):
        FBNet(bad_op)
    with pytest.raises(ValueError, match=r'out_indices=\(5,\).*\[0, 1, 2, 3\]'):
        FBNet('default', out_indices=[5])
    with pytest.raises(ValueError, match='width_ratio must be > 0'):
        FBNet('default', width_ratio=0)
