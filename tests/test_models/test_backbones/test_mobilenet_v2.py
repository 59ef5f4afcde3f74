"""Tests of segdet/models/backbones/mobilenet_v2.py."""
import copy

import pytest
import torch
import torch.nn.functional as F
from segmentation_fixtures import assert_loss_falls, make_labels, make_samples
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.engine import cache_path, register_all_modules, resolve_url
from segdet.models.backbones import MobileNetV2
from segdet.models.backbones.mobilenet_v2 import mobilenet_v2_channels
from segdet.models.decode_heads import FCNHead
from segdet.registry import MODELS

from _backbone_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

# mmseg's mobilenet-v2-d8_* configs
D8 = dict(strides=(1, 2, 2, 1, 1, 1, 1), dilations=(1, 1, 1, 2, 2, 4, 4),
          out_indices=(1, 2, 4, 6))


def test_d8_channels_and_strides():
    model = MODELS.build(dict(type='MobileNetV2', widen_factor=1., **D8)).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 48))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [(1, 24, 8, 12), (1, 32, 4, 6), (1, 96, 4, 6),
                                               (1, 320, 4, 6)]
    assert model.out_channels == (24, 32, 96, 320)
    # the dilation sits on the first block of a stage only
    assert model.layer4[0].conv[1].conv.dilation == (2, 2)
    assert model.layer4[1].conv[1].conv.dilation == (1, 1)
    assert model.layer6[0].conv[1].conv.dilation == (4, 4)
    assert [len(getattr(model, f'layer{i}')) for i in range(1, 8)] == [1, 2, 3, 4, 3, 3, 1]


@pytest.mark.parametrize('widen_factor, stem, channels', [
    (1.0, 32, (16, 24, 32, 64, 96, 160, 320)),
    (0.5, 16, (8, 16, 16, 32, 48, 80, 160)),     # 12 -> 16 (8 < 0.9 * 12)
    (0.35, 16, (8, 8, 16, 24, 32, 56, 112)),     # 11.2 -> 16, 5.6 -> 8 (min 8)
    (0.1, 8, (8, 8, 8, 8, 16, 16, 32)),          # never below 8 channels
])
def test_widen_factor_rounding(widen_factor, stem, channels):
    assert mobilenet_v2_channels(widen_factor) == (stem, list(channels))
    model = MobileNetV2(widen_factor=widen_factor, out_indices=tuple(range(7)), **{
        k: v for k, v in D8.items() if k != 'out_indices'}).eval()
    assert model.conv1.conv.out_channels == stem
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 16, 16))
    assert tuple(o.shape[1] for o in outs) == channels
    assert [o.shape[2] for o in outs] == [8, 4, 2, 2, 2, 2, 2]


def test_default_strides_and_odd_size():
    model = MobileNetV2(widen_factor=0.25, out_indices=tuple(range(7))).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 33, 64))
    # strides 2, 4, 8, 16, 16, 32, 32; sizes round up
    assert [tuple(o.shape[2:]) for o in outs] == [(17, 32), (9, 16), (5, 8), (3, 4), (3, 4),
                                                   (2, 2), (2, 2)]


def test_single_out_index_is_a_tuple():
    model = MobileNetV2(widen_factor=0.25, out_indices=(6, )).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32))
    assert isinstance(outs, tuple) and len(outs) == 1 and outs[0].shape == (1, 80, 1, 1)


@pytest.mark.parametrize('frozen', [0, 2, 7])
def test_frozen_stages(frozen):
    model = MobileNetV2(widen_factor=0.25, frozen_stages=frozen).train()
    parts = [model.conv1] + [getattr(model, f'layer{i}') for i in range(1, 8)]
    for k, part in enumerate(parts):
        is_frozen = k <= frozen
        assert {p.requires_grad for p in part.parameters()} == {not is_frozen}, k
        assert {m.training for m in part.modules() if isinstance(m, _BatchNorm)} == {
            not is_frozen}, k


def test_norm_eval():
    model = MobileNetV2(widen_factor=0.25, norm_eval=True).train()
    before = copy.deepcopy(model.state_dict())
    model(torch.rand(2, 3, 32, 32))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if 'running' in k)
    assert not any(m.training for m in model.modules() if isinstance(m, _BatchNorm))


def test_init_cfg_and_pretrained():
    model = MobileNetV2(widen_factor=0.25)
    assert [c['type'] for c in model.init_cfg] == ['Kaiming', 'Constant']
    with pytest.warns(DeprecationWarning):
        model = MobileNetV2(widen_factor=0.25, pretrained='mmcls://mobilenet_v2')
    assert model.init_cfg == dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')


def test_loads_mmcls_imagenet_weights(tmp_path, monkeypatch):
    """The configs' ``mmcls://mobilenet_v2``: an mmcls checkpoint (``backbone.``-prefixed keys
    plus classifier keys) in the torch hub cache fills every backbone weight (no network)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    source = MobileNetV2()
    state = {f'backbone.{k}': v for k, v in source.state_dict().items()}
    state['backbone.conv2.conv.weight'] = torch.zeros(1280, 320, 1, 1)  # mmcls's last conv
    state['head.fc.weight'] = torch.zeros(1000, 1280)
    path = cache_path(resolve_url('mmcls://mobilenet_v2'))
    path.parent.mkdir(parents=True)
    torch.save(dict(state_dict=state), path)
    # as EncoderDecoder turns the configs' model.pretrained into the backbone's init_cfg
    model = MobileNetV2(init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2'),
                        **D8)
    model.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_with_cp_same_output():
    torch.manual_seed(0)
    plain = MobileNetV2(widen_factor=0.25, **D8)
    cp = MobileNetV2(widen_factor=0.25, with_cp=True, **D8)
    cp.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    for a, b in zip(plain(x), cp(x)):
        torch.testing.assert_close(a, b)


def test_loss_falls_with_fcn_head():
    """MobileNetV2-D8 (widen 0.25) and the FCN configs' head learn one fixed batch: 32x32
    noise images whose labels are constant on 8x8 blocks (one per stride-8 output pixel)."""
    torch.manual_seed(0)
    backbone = MobileNetV2(widen_factor=0.25, **D8)
    head = FCNHead(in_channels=80, in_index=3, channels=16, num_convs=2, concat_input=True,
                   dropout_ratio=0, num_classes=3, norm_cfg=dict(type='BN'))
    model = torch.nn.ModuleDict(dict(backbone=backbone, head=head)).train()
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    blocks = make_labels(2, 4, 4, num_classes=3)
    labels = F.interpolate(blocks[:, None].float(), scale_factor=8, mode='nearest')[:, 0]
    samples = make_samples(labels.long())
    assert_loss_falls(model, lambda: head.loss(backbone(images), samples, {}))


def test_bad_input():
    with pytest.raises(ValueError, match=r'out_indices=\(1, 7\) has \[7\]; .* \[0, 6\]'):
        MobileNetV2(out_indices=(1, 7))
    with pytest.raises(ValueError, match=r'out_indices=\(-1,\) has \[-1\]'):
        MobileNetV2(out_indices=(-1, ))
    with pytest.raises(ValueError, match=r'out_indices=\(\) has none; .* \[0, 6\]'):
        MobileNetV2(out_indices=())
    with pytest.raises(TypeError, match='out_indices must be a list/tuple of ints, got int 6'):
        MobileNetV2(out_indices=6)
    with pytest.raises(ValueError, match=r'frozen_stages=8 must be in \[-1, 7\]'):
        MobileNetV2(frozen_stages=8)
    with pytest.raises(ValueError, match=r'frozen_stages=-2 must be in \[-1, 7\]'):
        MobileNetV2(frozen_stages=-2)
    with pytest.raises(ValueError, match='widen_factor=0 must be > 0'):
        MobileNetV2(widen_factor=0)
    with pytest.raises(ValueError, match='widen_factor=-0.5 must be > 0'):
        MobileNetV2(widen_factor=-0.5)
    with pytest.raises(TypeError, match="widen_factor must be a number > 0, got str '1.0'"):
        MobileNetV2(widen_factor='1.0')
    with pytest.raises(ValueError, match=r'strides=\(1, 2, 2\) and dilations=.* one entry per '
                                         r'stage \(7\)'):
        MobileNetV2(strides=(1, 2, 2))
    with pytest.raises(ValueError, match=r'strides=\(1, 2, 2, 3, 1, 2, 1\) has \[3\]; each '
                                         'stride must be 1 or 2'):
        MobileNetV2(strides=(1, 2, 2, 3, 1, 2, 1))
    with pytest.raises(ValueError, match=r'dilations=.* has \[0\]; each dilation must be an int '
                                         '>= 1'):
        MobileNetV2(dilations=(1, 1, 1, 0, 1, 1, 1))
