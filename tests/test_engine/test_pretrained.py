"""Pre-trained backbones named as mmseg/mmdet name them (segdet/engine/pretrained.py): a state
dict saved in a temporary ``TORCH_HOME`` under the file name a URI maps to is what
``init_weights()`` loads (every tensor compared), with one log line naming it; the configs'
settings are found and switched off by key; the training pre-flight names this config's
``--cfg-options`` when the file is missing. Nothing here reaches the network.
"""
import urllib.error
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import segdet.engine.pretrained as pretrained_module
from segdet.engine import (PretrainedRef, WeightsNotAvailableError, cache_path,
                           check_pretrained_available, find_pretrained, register_all_modules,
                           resolve_url, without_pretrained)
from segdet.engine import hub
from segdet.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
C4 = REPO / 'configs' / 'faster_rcnn' / 'faster-rcnn_r50-caffe_c4-1x_coco.py'
FCN = REPO / 'configs' / 'fcn' / 'fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py'


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / 'torch_home'
    monkeypatch.setenv('TORCH_HOME', str(home))
    return home


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> list:
    """What :class:`PretrainedInit` logs."""
    lines: list = []
    monkeypatch.setattr(pretrained_module, 'print_log', lambda msg, **kw: lines.append(msg))
    return lines


def random_state(module: torch.nn.Module, seed: int) -> dict:
    """``module``'s state dict with every float tensor random (ints kept)."""
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone()
            for k, v in module.state_dict().items()}


def save_in_cache(uri: str, state: dict) -> Path:
    path = cache_path(resolve_url(uri))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


def test_torchvision_resnet18_in_the_cache_is_what_initialises_the_backbone(torch_home,
                                                                           log_lines):
    register_all_modules(init_default_scope=False)
    init_default_scope('segdet')
    uri = 'torchvision://resnet18'
    model = MODELS.build(dict(type='ResNet', depth=18,
                              init_cfg=dict(type='Pretrained', checkpoint=uri)))
    # torchvision's resnet18 file: the backbone's tensors plus the classifier (not used)
    state = dict(random_state(MODELS.build(dict(type='ResNet', depth=18)), seed=1),
                 **{'fc.weight': torch.zeros(1000, 512), 'fc.bias': torch.zeros(1000)})
    path = save_in_cache(uri, state)
    assert path.name == 'resnet18-f37072fd.pth'  # torchvision's own file name
    model.init_weights()
    own = model.state_dict()
    assert all(torch.equal(own[k], state[k]) for k in own)
    assert log_lines == [f'ResNet initialised from {uri} -> {path}: {len(own) - 20} of '
                         f'{len(own) - 20} tensors loaded (0 missing, 0 of another shape, '
                         '2 unexpected)']  # 20 BN num_batches_tracked buffers not counted


def test_segmentor_pretrained_open_mmlab_name(torch_home, log_lines):
    """``model.pretrained='open-mmlab://...'`` (mmseg's spelling) becomes the backbone's
    init_cfg and loads the file the name maps to."""
    register_all_modules(init_default_scope=False)
    init_default_scope('segdet')
    backbone = dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                    out_indices=(3, ))
    cfg = dict(type='EncoderDecoder', pretrained='open-mmlab://resnet18_v1c', backbone=backbone,
               decode_head=dict(type='FCNHead', in_channels=64, channels=8, num_convs=1,
                                num_classes=3))
    state = random_state(MODELS.build(backbone), seed=2)
    path = save_in_cache('open-mmlab://resnet18_v1c', state)
    assert path.name == 'resnet18_v1c-b5776b93.pth'
    model = MODELS.build(cfg)
    assert model.backbone.init_cfg == dict(type='Pretrained',
                                           checkpoint='open-mmlab://resnet18_v1c')
    model.init_weights()
    own = model.backbone.state_dict()
    assert all(torch.equal(own[k], state[k]) for k in own)
    assert len(log_lines) == 1 and log_lines[0].startswith(
        f'ResNetV1c initialised from open-mmlab://resnet18_v1c -> {path}: ')


def test_find_and_switch_off_by_key():
    c4 = Config.fromfile(str(C4)).model
    refs = find_pretrained(c4)
    assert refs == [
        PretrainedRef('model.backbone.init_cfg', 'open-mmlab://detectron2/resnet50_caffe'),
        PretrainedRef('model.roi_head.shared_head.init_cfg',
                      'open-mmlab://detectron2/resnet50_caffe')]
    off = without_pretrained(c4)
    assert find_pretrained(off) == [] and off.backbone.init_cfg is None
    assert off.roi_head.shared_head.init_cfg is None and find_pretrained(c4) == refs  # a copy
    fcn = Config.fromfile(str(FCN)).model
    assert find_pretrained(fcn) == [PretrainedRef('model.pretrained', 'open-mmlab://resnet50_v1c')]
    assert without_pretrained(fcn).pretrained is None
    # init_cfg lists keep their other initialisers
    listed = dict(backbone=dict(init_cfg=[dict(type='Pretrained', checkpoint='a.pth'),
                                          dict(type='Constant', val=1, layer='Conv2d')]))
    assert find_pretrained(listed) == [PretrainedRef('model.backbone.init_cfg.0', 'a.pth')]
    assert without_pretrained(listed)['backbone']['init_cfg'] == [
        dict(type='Constant', val=1, layer='Conv2d')]


def test_preflight_names_this_configs_keys(torch_home, monkeypatch):
    def offline(url, dst, progress):
        raise urllib.error.URLError('no route to host')
    monkeypatch.setattr(hub, '_download', offline)
    c4 = Config.fromfile(str(C4)).model
    url = resolve_url('open-mmlab://detectron2/resnet50_caffe')
    with pytest.raises(WeightsNotAvailableError) as err:
        check_pretrained_available(c4)
    msg = str(err.value)
    assert msg.startswith("model.backbone.init_cfg = 'open-mmlab://detectron2/resnet50_caffe'")
    assert url in msg and str(cache_path(url)) in msg
    assert msg.endswith('pass --cfg-options model.backbone.init_cfg=None '
                        'model.roi_head.shared_head.init_cfg=None.')
    # a load_from URL is checked too, with its own hint
    save_in_cache('open-mmlab://detectron2/resnet50_caffe', {'w': torch.ones(1)})
    with pytest.raises(WeightsNotAvailableError, match='load_from = .*pass another load_from'):
        check_pretrained_available(c4, extra=[PretrainedRef('load_from', 'https://a.org/m.pth')])
    # cached: no download, the files are returned
    files = check_pretrained_available(c4)
    assert files == {'open-mmlab://detectron2/resnet50_caffe': str(cache_path(url))}
    # an unknown name is a KeyError with the closest names, before any download
    c4.backbone.init_cfg.checkpoint = 'open-mmlab://detectron2/resnet50_cafe'
    with pytest.raises(KeyError,
                       match='closest known names: open-mmlab://detectron2/resnet50_caffe'):
        check_pretrained_available(c4)
