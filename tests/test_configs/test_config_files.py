"""Every experiment config under ``configs/`` (all but ``_base_``): it loads, inherits at most
three levels deep, is named after what it contains (segmentation configs), builds its model,
and every ``type`` it names resolves in segdet's registries. The resolved configs must also equal
mmsegmentation 1.2.2's / mmdetection 3.3.0's of the same name except for the documented
differences (their configs come from the ``mm_configs`` fixture: ``MMSEG_CONFIGS_DIR`` /
``MMDET_CONFIGS_DIR``, or the two wheels fetched once into a cache; see tests/reference_data.py).

Models are built on the meta device (no memory, no init) with SyncBN turned into BN, once per
distinct model section. Data sets are not built: the data is not on disk.
"""
import ast
import functools
import re
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import Registry, init_default_scope

from reference_data import MMConfigs
from segdet.engine import find_pretrained, resolve_url
from segdet.models.segmentors import BaseSegmentor
from segdet.registry import (DATA_SAMPLERS, DATASETS, HOOKS, LOOPS, METRICS, MODELS,
                             OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS, TRANSFORMS,
                             VISBACKENDS, VISUALIZERS)
from segdet.utils import revert_sync_bn_cfg

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs'
EXPERIMENTS = sorted(p for p in CONFIG_DIR.rglob('*.py')
                     if '_base_' not in p.relative_to(CONFIG_DIR).parts)
MAX_DEPTH = 3

# {algo}_{backbone}[_{method}]_{N}xb{B}[-{tag}]-{schedule}_{dataset}-{crop}.py; the third
# part is mmseg's name of the decode method in backbone folders (resnest_s101-d8_fcn_...).
NAME_RE = re.compile(
    r'^(?P<algo>[a-z0-9]+(?:-[a-z0-9]+)*)_(?P<backbone>[a-z0-9]+(?:-[a-z0-9]+)*)'
    r'(?:_(?P<method>[a-z][a-z0-9]*))?'
    r'_(?P<gpus>\d+)xb(?P<batch>\d+)(?:-(?P<tag>[a-z][a-z0-9]*))?-(?P<iters>\d+k?)'
    r'_(?P<dataset>[a-z0-9]+(?:-[a-z0-9]+)*?)-(?P<h>\d+)x(?P<w>\d+)$')


def config_id(path: Path) -> str:
    return str(path.relative_to(CONFIG_DIR))


@functools.lru_cache(maxsize=None)
def load_config(path: Path) -> Config:
    """``Config.fromfile`` once per file (tests only read the result)."""
    return Config.fromfile(str(path))


def is_segmentation(cfg: Config) -> bool:
    """Whether the config's model is one of segdet's segmentors (EncoderDecoder, ...).

    The naming and content checks below are mmsegmentation's conventions; detection configs
    (mmdetection's names, epoch schedules) are only loaded, depth-checked and built here.
    """
    model_cls = MODELS.get(cfg.model.type) if 'model' in cfg else None
    return isinstance(model_cls, type) and issubclass(model_cls, BaseSegmentor)


# mmsegmentation 1.2.2 file names that break its own pattern, kept as mmseg spells them so
# that `tools/test.py` finds the same file; parsed as the name they were meant to have.
NAME_TYPOS = {'resnest_s101-d8_pspnet_4xb2-80k_cityscapes512x1024':
              'resnest_s101-d8_pspnet_4xb2-80k_cityscapes-512x1024'}


def parse_name(stem: str) -> dict:
    """The fields of a config file name, with numbers as ints."""
    match = NAME_RE.match(NAME_TYPOS.get(stem, stem))
    if match is None:
        raise AssertionError(
            f'config name {stem!r} does not follow '
            '{algo}_{backbone}_{N}xb{B}-{schedule}_{dataset}-{crop}, '
            'e.g. pspnet_r50-d8_4xb2-40k_cityscapes-512x1024')
    fields = match.groupdict()
    for key in ('gpus', 'batch', 'h', 'w'):
        fields[key] = int(fields[key])
    # '80k' is 80000 iterations; short demo schedules spell the count out ('500').
    iters = fields['iters']
    fields['iters'] = int(iters[:-1]) * 1000 if iters.endswith('k') else int(iters)
    return fields


def base_files(path: Path) -> list[Path]:
    """The files named by ``_base_`` in ``path``, read statically (nothing is executed)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [(path.parent / name).resolve() for name in names]
    return []


def inheritance_depth(path: Path) -> int:
    """0 for a file without ``_base_``; else 1 + the depth of its deepest base."""
    bases = base_files(path)
    return 1 + max(inheritance_depth(b) for b in bases) if bases else 0


def test_name_parser_and_depth_on_known_cases(tmp_path):
    fields = parse_name('deeplabv3plus_r101-d8_4xb4-80k_ade20k-512x512')
    assert (fields['algo'], fields['backbone'], fields['gpus'], fields['batch'],
            fields['iters'], fields['dataset'], fields['h'], fields['w']) == (
        'deeplabv3plus', 'r101-d8', 4, 4, 80000, 'ade20k', 512, 512)
    assert parse_name('deeplabv3plus_r18b_1xb8-500_shapes-128x128')['iters'] == 500
    fields = parse_name('resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024')
    assert (fields['algo'], fields['backbone'], fields['method']) == ('resnest', 's101-d8', 'fcn')
    assert parse_name('pspnet_r50-d8_4xb2-40k_cityscapes-512x1024')['method'] is None
    assert parse_name('bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024')['tag'] == 'amp'
    assert parse_name('resnest_s101-d8_pspnet_4xb2-80k_cityscapes512x1024')['w'] == 1024
    assert parse_name('fcn_r101-d8_4xb2-amp-80k_cityscapes-512x1024')['tag'] == 'amp'
    assert parse_name('pspnet_r50-d8_4xb4-40k_pascal-context-59-480x480')['dataset'] == \
        'pascal-context-59'
    with pytest.raises(AssertionError, match='does not follow'):
        parse_name('pspnet_r50_cityscapes')
    # a -> b -> (c, d -> e): depth 3
    (tmp_path / 'e.py').write_text('x = 1\n')
    (tmp_path / 'd.py').write_text("_base_ = './e.py'\n")
    (tmp_path / 'c.py').write_text('y = 1\n')
    (tmp_path / 'b.py').write_text("_base_ = ['./c.py', './d.py']\n")
    (tmp_path / 'a.py').write_text("_base_ = './b.py'\n")
    assert [inheritance_depth(tmp_path / f'{n}.py') for n in 'abcde'] == [3, 2, 0, 1, 0]


def test_every_algorithm_folder_has_configs():
    folders = {p.parent.name for p in EXPERIMENTS}
    assert {'fcn', 'pspnet', 'deeplabv3', 'deeplabv3plus', 'ocrnet'} <= folders


@pytest.mark.parametrize('path', EXPERIMENTS, ids=config_id)
def test_inheritance_depth(path):
    depth = inheritance_depth(path)
    assert depth <= MAX_DEPTH, (
        f'{config_id(path)} inherits {depth} levels deep (at most {MAX_DEPTH} allowed)')


def _datasets(dataset_cfg: dict) -> Iterator[dict]:
    """A dataset config and the datasets wrapped inside it (ConcatDataset, RepeatDataset)."""
    yield dataset_cfg
    for inner in dataset_cfg.get('datasets', []):
        yield from _datasets(inner)
    if isinstance(dataset_cfg.get('dataset'), dict):
        yield from _datasets(dataset_cfg['dataset'])


def _heads(model_cfg: dict) -> list[dict]:
    heads = []
    for key in ('decode_head', 'auxiliary_head'):
        value = model_cfg.get(key)
        if value is not None:
            heads.extend(value if isinstance(value, (list, tuple)) else [value])
    return heads


# mmdetection's names: {algo}_{backbone}_{neck}[_{tag}]_{schedule}_{dataset}, the schedule in
# epochs (1x = 12) or as the epochs of the steps ('20-23-24e'); demos count iterations.
# maskrcnn-benchmark's FBNet rows name fractions ('0.5x', '0.75x').
DET_SCHEDULE_RE = re.compile(
    r'(?:^|[_-])(?:(?P<times>\d+(?:\.\d+)?)x|(?:\d+-)*(?P<epochs>\d+)e)$')
DET_DEMO_RE = re.compile(r'_(?P<gpus>\d+)xb(?P<batch>\d+)-(?P<iters>\d+)_[a-z0-9-]+$')
DET_MODELS = {'faster-rcnn': 'FasterRCNN', 'mask-rcnn': 'MaskRCNN',
              'keypoint-rcnn': 'KeypointRCNN'}
# Detectron's and maskrcnn-benchmark's "1x" for iteration-based recipes: 90k iterations of 16.
DET_1X_ITERS = 90000
# Folders whose iteration schedules count another "1x": maskrcnn-benchmark's FBNet rows count
# 180k iterations as 1x, as its R-50-C4 1x config runs (0.5x = 90k, 0.75x = 135k iterations of
# 96-128 images; configs/fbnet/README.md).
DET_1X_ITERS_BY_FOLDER = {'fbnet': 180000}


def check_detection_name(name: str, stem: str, cfg: Config) -> None:
    """A detection config's name against its content: the detector, the schedule (epochs, or
    iterations and batch size for demos) and, on COCO, the data set and its 80 classes."""
    algo = stem.split('_')[0]
    assert algo in DET_MODELS, f'{name}: unknown detection algorithm prefix {algo!r}'
    assert cfg.model.type == DET_MODELS[algo], (
        f'{name}: model.type={cfg.model.type}, the name says {DET_MODELS[algo]}')
    assert (cfg.model.roi_head.get('mask_head') is not None) == (algo == 'mask-rcnn'), (
        f'{name}: a mask head must be there exactly for Mask R-CNN')
    demo = DET_DEMO_RE.search(stem)
    if demo is not None:
        assert cfg.train_cfg.max_iters == int(demo['iters']), (
            f"{name}: train_cfg.max_iters={cfg.train_cfg.max_iters}, the name says "
            f"{demo['iters']}")
        assert cfg.train_dataloader.batch_size == int(demo['batch']), (
            f'{name}: train_dataloader.batch_size={cfg.train_dataloader.batch_size}, the name '
            f"says {demo['batch']}")
        return
    assert stem.endswith('_coco'), f'{name}: the data set is not named (e.g. _coco)'
    schedule = DET_SCHEDULE_RE.search(stem[:-len('_coco')])
    assert schedule is not None, f'{name}: no schedule (e.g. _1x, _20-23-24e) before _coco'
    if 'max_iters' in cfg.train_cfg:
        assert schedule['times'] is not None, f'{name}: an iteration schedule is named Nx'
        per_x = DET_1X_ITERS_BY_FOLDER.get(name.split('/')[0], DET_1X_ITERS)
        iters = per_x * float(schedule['times'])
        assert cfg.train_cfg.max_iters == iters, (
            f'{name}: train_cfg.max_iters={cfg.train_cfg.max_iters}, the name says {iters}')
    else:
        epochs = (12 * float(schedule['times']) if schedule['times'] is not None
                  else int(schedule['epochs']))
        assert cfg.train_cfg.max_epochs == epochs, (
            f'{name}: train_cfg.max_epochs={cfg.train_cfg.max_epochs}, the name says {epochs}')
    train_sets = [ds for ds in _datasets(cfg.train_dataloader.dataset)
                  if 'datasets' not in ds and 'dataset' not in ds]
    assert {ds['type'] for ds in train_sets} == {'CocoDataset'}, f'{name}: not trained on COCO'
    heads = [cfg.model.roi_head.bbox_head] + (
        [cfg.model.roi_head.mask_head] if 'mask_head' in cfg.model.roi_head else [])
    # COCO's 80 classes; its person-keypoint task has one.
    classes = 1 if algo == 'keypoint-rcnn' else 80
    for head in heads:
        assert head['num_classes'] == classes, (
            f"{name}: {head['type']}.num_classes != {classes} (COCO)")
    if algo == 'keypoint-rcnn':
        assert 'keypoints' in cfg.val_evaluator['metric'], f'{name}: keypoint AP not evaluated'


# mmsegmentation's folders whose configs' names start with another algorithm prefix.
# A prefix also admits variants after a hyphen (mobilenet-v3-d8-s, mobilenet-v3-d8-scratch).
FOLDER_PREFIXES = {'sem_fpn': 'fpn', 'nonlocal_net': 'nonlocal', 'dnlnet': 'dnl',
                   'point_rend': 'pointrend', 'hrnet': 'fcn', 'mobilenet_v2': 'mobilenet-v2-d8',
                   'mobilenet_v3': 'mobilenet-v3-d8', 'fastscnn': 'fast'}


# Configs whose images per GPU differ from their name, as in mmsegmentation's file of the same
# name (config -> batch size). cgnet 680x680: mmseg 1.x renamed it 4xb4 but loads 8 per GPU, as
# the 0.x config that trained the published checkpoint did (configs/cgnet/README.md).
NAME_BATCH_EXCEPTIONS = {'cgnet/cgnet_fcn_4xb4-60k_cityscapes-680x680.py': 8}


@pytest.mark.parametrize('path', EXPERIMENTS, ids=config_id)
def test_name_agrees_with_content(path):
    name = config_id(path)
    cfg = load_config(path)
    if not is_segmentation(cfg):
        check_detection_name(name, path.stem, cfg)
        return
    fields = parse_name(path.stem)
    crop = (fields['h'], fields['w'])

    if path.parent.name != 'demo':
        prefix = FOLDER_PREFIXES.get(path.parent.name, path.parent.name)
        assert fields['algo'] == prefix or fields['algo'].startswith(prefix + '-'), (
            f'{name}: algorithm folder != name prefix {prefix!r}')
    size = cfg.model.data_preprocessor.get('size')
    assert size is not None and tuple(size) == crop, (
        f'{name}: model.data_preprocessor.size={size}, the name says {crop}')
    assert cfg.train_cfg.max_iters == fields['iters'], (
        f"{name}: train_cfg.max_iters={cfg.train_cfg.max_iters}, the name says "
        f"{fields['iters']}")
    ends = [s['end'] for s in cfg.param_scheduler if 'end' in s]
    assert ends and max(ends) == cfg.train_cfg.max_iters, (
        f'{name}: the learning-rate schedule ends at {ends}, training at '
        f'{cfg.train_cfg.max_iters}')
    batch = NAME_BATCH_EXCEPTIONS.get(name, fields['batch'])
    assert cfg.train_dataloader.batch_size == batch, (
        f"{name}: train_dataloader.batch_size={cfg.train_dataloader.batch_size}, "
        f"the name says {fields['batch']} per GPU")

    train_sets = list(_datasets(cfg.train_dataloader.dataset))
    for ds in train_sets:
        for step in ds.get('pipeline', []):
            if step['type'] == 'RandomCrop':
                assert tuple(step['crop_size']) == crop, (
                    f"{name}: RandomCrop crop_size={step['crop_size']}, the name says {crop}")
    test_cfg = cfg.model.get('test_cfg', {})
    if test_cfg.get('mode') == 'slide':
        assert tuple(test_cfg['crop_size']) == crop, f'{name}: slide crop_size != {crop}'

    # every head predicts the classes of the data set it trains on
    leaf_types = {ds['type'] for ds in train_sets if 'datasets' not in ds and 'dataset' not in ds}
    assert len(leaf_types) == 1, f'{name}: training mixes data set types {leaf_types}'
    dataset_cls = DATASETS.get(leaf_types.pop())
    num_classes = len(dataset_cls.METAINFO['classes'])
    for head in _heads(cfg.model):
        assert head['num_classes'] == num_classes, (
            f"{name}: {head['type']}.num_classes={head['num_classes']}, but "
            f'{dataset_cls.__name__} has {num_classes} classes')


def _typed_dicts(node: Any, where: str) -> Iterator[tuple[str, dict]]:
    """Every dict with a 'type' key inside ``node``, with its dotted location."""
    if isinstance(node, dict):
        if 'type' in node:
            yield where, node
        for key, value in node.items():
            yield from _typed_dicts(value, f'{where}.{key}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _typed_dicts(value, f'{where}.{i}')


def _resolve(registry: Registry, cfg: dict, where: str, config: str) -> None:
    type_ = cfg['type']
    if isinstance(type_, str):
        assert registry.get(type_) is not None, (
            f"{config}: {where}.type={type_!r} is not registered in segdet's "
            f'{registry.name!r} registry (or its mmengine parent)')


def _check_dataloader(loader: dict, where: str, config: str) -> None:
    _resolve(DATA_SAMPLERS, loader['sampler'], f'{where}.sampler', config)
    stack = [(loader['dataset'], f'{where}.dataset')]
    while stack:
        ds, ds_where = stack.pop()
        _resolve(DATASETS, ds, ds_where, config)
        for i, step in enumerate(ds.get('pipeline', [])):
            for step_where, typed in _typed_dicts(step, f'{ds_where}.pipeline.{i}'):
                _resolve(TRANSFORMS, typed, step_where, config)
        stack += [(inner, f'{ds_where}.datasets.{i}')
                  for i, inner in enumerate(ds.get('datasets', []))]
        if isinstance(ds.get('dataset'), dict):
            stack.append((ds['dataset'], f'{ds_where}.dataset'))


@pytest.mark.parametrize('path', EXPERIMENTS, ids=config_id)
def test_every_type_is_registered(path):
    name = config_id(path)
    cfg = load_config(path)
    assert cfg.default_scope == 'segdet', f'{name}: default_scope={cfg.default_scope!r}'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        _check_dataloader(cfg[key], key, name)
    for key in ('val_evaluator', 'test_evaluator'):
        for where, typed in _typed_dicts(cfg[key], key):
            _resolve(METRICS, typed, where, name)
    _resolve(OPTIM_WRAPPERS, cfg.optim_wrapper, 'optim_wrapper', name)
    _resolve(OPTIMIZERS, cfg.optim_wrapper.optimizer, 'optim_wrapper.optimizer', name)
    schedulers = cfg.get('param_scheduler') or []
    for i, sched in enumerate(schedulers if isinstance(schedulers, list) else [schedulers]):
        _resolve(PARAM_SCHEDULERS, sched, f'param_scheduler.{i}', name)
    for key in ('train_cfg', 'val_cfg', 'test_cfg'):
        if 'type' in cfg[key]:
            _resolve(LOOPS, cfg[key], key, name)
    for key, hook in cfg.get('default_hooks', {}).items():
        _resolve(HOOKS, hook, f'default_hooks.{key}', name)
    for i, hook in enumerate(cfg.get('custom_hooks', [])):
        _resolve(HOOKS, hook, f'custom_hooks.{i}', name)
    _resolve(VISUALIZERS, cfg.visualizer, 'visualizer', name)
    for i, backend in enumerate(cfg.visualizer.get('vis_backends', [])):
        _resolve(VISBACKENDS, backend, f'visualizer.vis_backends.{i}', name)


@pytest.mark.parametrize('path', EXPERIMENTS, ids=config_id)
def test_named_weights_resolve(path):
    """Every pre-trained checkpoint a config names is a URI of mmengine's tables (resolved
    offline); the demo configs train from scratch."""
    refs = find_pretrained(load_config(path).model)
    if path.parent.name == 'demo':
        assert refs == [], f'{config_id(path)}: the demo configs train from scratch'
    for ref in refs:
        url = resolve_url(ref.checkpoint)
        assert url.startswith('https://') and url.endswith('.pth'), (config_id(path), ref)


def test_model_zoo_table_lists_every_named_weight():
    """docs/model_zoo.md's table: each URI the configs name, with the file it is cached as."""
    text = (REPO / 'docs' / 'model_zoo.md').read_text()
    rows = dict(re.findall(r'^\| `([a-z-]+://[^`]+)` \| `([^`]+)` \|', text, re.M))
    used = {ref.checkpoint for path in EXPERIMENTS
            for ref in find_pretrained(load_config(path).model)}
    assert set(rows) == used, f'missing: {used - set(rows)}; not used: {set(rows) - used}'
    for uri, name in rows.items():
        assert resolve_url(uri).rsplit('/', 1)[1] == name, uri


BASES = sorted((CONFIG_DIR / '_base_').rglob('*.py'))
# Model bases that mmsegmentation trains from scratch (no ImageNet weights).
FROM_SCRATCH_BASES = {'_base_/models/cgnet.py', '_base_/models/bisenetv2.py',
                      '_base_/models/lraspp_m-v3-d8.py', '_base_/models/fast_scnn.py'}
# Model bases whose backbone keeps its default BN (mmseg's set no backbone norm_cfg).
DEFAULT_NORM_BACKBONE_BASES = {'_base_/models/bisenetv2.py'}


@pytest.mark.parametrize('path', BASES, ids=config_id)
def test_base_file_loads_and_its_types_resolve(path):
    # Bases are checked on their own too: pascal_voc12.py, for one, has no experiment yet.
    name = config_id(path)
    cfg = load_config(path)
    assert inheritance_depth(path) <= 1, f'{name}: a base inherits at most one other base'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if key in cfg:
            _check_dataloader(cfg[key], key, name)
    if 'model' in cfg and is_segmentation(cfg):
        # mmseg's bases start from ImageNet weights that mmengine's tables name, but for the
        # real-time models that mmseg trains from scratch (no `pretrained`, or None).
        if name in FROM_SCRATCH_BASES:
            assert cfg.model.get('pretrained') is None, name
        else:
            assert resolve_url(cfg.model.pretrained).startswith('https://'), name
        assert cfg.model.data_preprocessor.type == 'SegDataPreProcessor'
        if name not in DEFAULT_NORM_BACKBONE_BASES:
            assert cfg.model.backbone.norm_cfg.type == 'SyncBN'


def build_model_on_meta(model_cfg: dict) -> torch.nn.Module:
    """Build a model config with BN instead of SyncBN, without allocating weights."""
    # mmengine's BaseModel builds the data preprocessor from the default scope's registry.
    init_default_scope('segdet')
    with torch.device('meta'):
        return MODELS.build(revert_sync_bn_cfg(model_cfg))


@functools.lru_cache(maxsize=None)
def _build_cached(model_repr: str, path: Path) -> torch.nn.Module:
    return build_model_on_meta(load_config(path).model)


def build_once(path: Path) -> torch.nn.Module:
    """The meta model of a config; configs whose model sections are equal (e.g. the 40k and
    80k schedules of one model) share one build."""
    model_cfg = load_config(path).model
    first = next(p for p in EXPERIMENTS if load_config(p).model == model_cfg)
    return _build_cached(repr(model_cfg.to_dict()), first)


@pytest.mark.parametrize('path', EXPERIMENTS, ids=config_id)
def test_model_builds(path):
    cfg = load_config(path)
    model = build_once(path)
    assert type(model).__name__ == cfg.model.type
    assert not any(isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
    assert sum(p.numel() for p in model.parameters()) > 0
    if not is_segmentation(cfg):
        return
    heads = model.decode_head if isinstance(model.decode_head, torch.nn.ModuleList) else [
        model.decode_head]
    assert [h.align_corners for h in heads] == [
        h.get('align_corners', False) for h in (cfg.model.decode_head if isinstance(
            cfg.model.decode_head, list) else [cfg.model.decode_head])]
    assert dict(model.test_cfg) == dict(cfg.model.test_cfg)


# mmsegmentation's and mmdetection's own configs (the mm_configs fixture): the resolved segdet
# configs must equal them except for the differences each README documents.
# max_epochs: a helper variable of mmdet's GN 2x files (segdet inherits schedule_2x instead).
# Pre-trained weights (model.pretrained, backbone / shared-head init_cfg) are not exceptions:
# segdet's configs name the same ones (docs/model_zoo.md).
ALLOWED_DIFFERENCES = ('default_scope', 'env_cfg.flush_denormal', 'custom_hooks',
                       'default_hooks.checkpoint.', 'max_epochs')

# Differences of single configs from mmseg's file of the same name, each documented in its
# folder's README.md (config -> key prefixes).
_NO_SIZE = ('model.data_preprocessor.size', 'data_preprocessor.size')
CONFIG_DIFFERENCES: dict[str, tuple[str, ...]] = {
    # mmseg's R-18 ADE20K / VOC files set no data_preprocessor size; segdet's pad to the crop.
    'upernet/upernet_r18_4xb4-80k_ade20k-512x512.py': _NO_SIZE,
    'upernet/upernet_r18_4xb4-160k_ade20k-512x512.py': _NO_SIZE,
    'upernet/upernet_r18_4xb4-20k_voc12aug-512x512.py': _NO_SIZE,
    'upernet/upernet_r18_4xb4-40k_voc12aug-512x512.py': _NO_SIZE,
    # mmseg's file assigns `model` twice, so it builds a ResNet-50; segdet's is a ResNet-101.
    'sem_fpn/fpn_r101_4xb4-160k_ade20k-512x512.py': ('model.pretrained', 'model.backbone.depth'),
    # mmseg's file inherits the 20k R-50 file, so it trains 20k iterations; segdet's 40k.
    'ann/ann_r101-d8_4xb4-40k_voc12aug-512x512.py': (
        'train_cfg.max_iters', 'train_cfg.val_interval', 'param_scheduler.0.end'),
    # mmseg 1.2.2's file inherits the 40k file, so it trains 40k iterations; segdet's 80k (as
    # the name and mmseg 0.x's published fp16 run).
    'deeplabv3/deeplabv3_r101-d8_4xb2-amp-80k_cityscapes-512x1024.py': (
        'train_cfg.max_iters', 'train_cfg.val_interval', 'param_scheduler.0.end'),
    # mmseg 1.2.2's file assigns the OHEM heads and the crop-size padding to `models` (a typo:
    # it builds the plain model); segdet's sets `model`, as mmseg 0.x's file of the published
    # run did.
    'bisenetv2/bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024.py': (
        'models', 'model.data_preprocessor.size', 'model.decode_head.sampler',
        *(f'model.auxiliary_head.{i}.sampler' for i in range(4))),
    # mmseg 1.2.2's LR-ASPP files keep the 160k schedule and a `runner` key that mmengine no
    # longer reads; segdet's train the 320k of the name and of mmseg 0.x's published runs.
    **{f'mobilenet_v3/mobilenet-v3-d8{variant}_lraspp_4xb4-320k_cityscapes-512x1024.py': (
        'train_cfg.max_iters', 'param_scheduler.0.end', 'runner')
       for variant in ('', '-s', '-scratch', '-scratch-s')},
}


def _flatten(node: Any, prefix: str = '') -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f'{prefix}.{key}' if prefix else str(key)))
        return out
    if isinstance(node, (list, tuple)):
        out = {f'{prefix}.len': len(node)}
        for i, value in enumerate(node):
            out.update(_flatten(value, f'{prefix}.{i}'))
        return out
    return {prefix: node}


# segdet configs with no mmseg/mmdet config of the same name (their READMEs say why).
NO_TWIN = {
    'faster_rcnn/faster-rcnn_x101-32x8d_fpn_1x_coco.py': 'mmdet ships only the ms-3x version',
    'gn/mask-rcnn_r50-scratch_fpn_gn-all_3x_coco.py': "mmdet's scratch configs are 6x",
    'faster_rcnn/faster-rcnn_r50_fpn_torchvision-compat_1x_coco.py':
        "torchvision's inference, for converted torchvision weights",
    'mask_rcnn/mask-rcnn_r50_fpn_torchvision-compat_1x_coco.py':
        "torchvision's inference, for converted torchvision weights",
    'mask_rcnn/mask-rcnn_r50-caffe_fpn_2x_coco.py':
        "mmdet's caffe-style 2x is multi-scale with polygons (ms-poly-2x); this is Detectron's BN*",
    'mask_rcnn/mask-rcnn_r101-caffe_fpn_2x_coco.py': "Detectron's R-101 BN* 2x; mmdet has none",
    'mask_rcnn/mask-rcnn_r50-caffe_fpn_3x_coco.py':
        "mmdet's caffe-style 3x is multi-scale with polygons (ms-poly-3x); this is Detectron's BN*",
    'mask_rcnn/mask-rcnn_r50-caffe_fpn_4conv1fc_2x_coco.py':
        "Detectron GN page's BN* 4conv1fc variant; mmdet has none",
    'gn/mask-rcnn_r101-scratch_fpn_gn-all_3x_coco.py': "mmdet's scratch configs are R-50, 6x",
    'keypoint_rcnn/keypoint-rcnn_r50-caffe_fpn_1x_coco.py':
        'mmdet has no keypoint detector (the recipe is maskrcnn-benchmark\'s)',
    **{f'fbnet/{name}.py': "mmdet has no FBNet detector (the recipe is maskrcnn-benchmark's)"
       for name in ('faster-rcnn_fbnet-chamv1a_600_0.75x_coco',
                    'faster-rcnn_fbnet-default_600_0.5x_coco',
                    'mask-rcnn_fbnet-default_600_0.5x_coco',
                    'mask-rcnn_fbnet-xirb16d-dsmask_600_0.5x_coco')},
}
COMPARED = [p for p in EXPERIMENTS if p.parent.name != 'demo' and config_id(p) not in NO_TWIN]


def _mmseg_twin(path: Path, mm_configs: MMConfigs) -> Optional[Path]:
    for root in mm_configs:
        twin = root / path.parent.name / path.name
        if twin.is_file():
            return twin
    return None


def test_configs_without_twin_have_none(mm_configs: MMConfigs):
    assert set(NO_TWIN) <= {config_id(p) for p in EXPERIMENTS}, 'NO_TWIN names a missing config'
    for name in NO_TWIN:
        assert _mmseg_twin(CONFIG_DIR / name, mm_configs) is None, f'{name} has a twin now'


@pytest.mark.parametrize('path', COMPARED, ids=config_id)
def test_resolved_config_equals_mmseg(path, mm_configs: MMConfigs):
    twin = _mmseg_twin(path, mm_configs)
    assert twin is not None, (f'no mmsegmentation/mmdetection config {path.name} under '
                              f'{mm_configs.mmseg} or {mm_configs.mmdet}; if it has no twin, '
                              'add it to NO_TWIN with the reason')
    ours = _flatten(Config.fromfile(str(path)).to_dict())
    theirs = _flatten(Config.fromfile(str(twin)).to_dict())
    their_top = {key.split('.')[0] for key in theirs}
    diffs = []
    for key in sorted(set(ours) | set(theirs)):
        if key.startswith(ALLOWED_DIFFERENCES) or \
                key.startswith(CONFIG_DIFFERENCES.get(config_id(path), ())):
            continue
        if key.split('.')[0] not in their_top:
            continue  # a helper variable of ours (e.g. hr_channels), not a config key
        if ours.get(key, '<missing>') != theirs.get(key, '<missing>'):
            diffs.append(f"{key}: segdet={ours.get(key, '<missing>')!r} "
                         f"mmseg={theirs.get(key, '<missing>')!r}")
    assert not diffs, f'{config_id(path)} differs from {twin}:\n' + '\n'.join(diffs)
