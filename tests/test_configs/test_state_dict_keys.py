"""segdet's models have exactly the state-dict keys and shapes of mmsegmentation 1.2.2's and
mmdetection 3.3.0's models for the configs of the same name, so their checkpoints load with no
missing or unexpected keys (docs/design.md#checkpoint-compatibility).

The references are the JSON files directly under ``tests/data/state_dict_keys/`` (read through
``reference_data``; ``{"keys": {name: shape, ...}, "num_keys": N, "source": ...}``). Every one of
them is a test case here.
"""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from reference_data import STATE_DICT_KEYS_DIR, state_dict_reference, state_dict_reference_names
from segdet.registry import MODELS
from segdet.utils import revert_sync_bn_cfg

REPO = Path(__file__).resolve().parents[2]
ALGORITHMS = ('fcn', 'pspnet', 'deeplabv3', 'deeplabv3plus', 'ocrnet', 'upernet', 'psanet',
              'nonlocal', 'encnet', 'ccnet', 'danet', 'apcnet', 'gcnet', 'dmnet', 'ann',
              'emanet', 'dnl', 'fpn', 'pointrend', 'resnest', 'mobilenet-v2-d8',
              'mobilenet-v3-d8', 'fast', 'cgnet', 'bisenetv2')
# mmsegmentation's folder of a config whose name prefix differs from the folder name.
SEG_FOLDERS = {'nonlocal': 'nonlocal_net', 'dnl': 'dnlnet', 'fpn': 'sem_fpn',
               'pointrend': 'point_rend', 'mobilenet-v2-d8': 'mobilenet_v2',
               'mobilenet-v3-d8': 'mobilenet_v3', 'fast': 'fastscnn'}
MAX_LISTED = 25

REF_NAMES = state_dict_reference_names()
REF_FILES = [STATE_DICT_KEYS_DIR / f'{name}.json' for name in REF_NAMES
             if name.split('_')[0] in ALGORITHMS]
# mmdetection references: folder of the config of the same name.
DET_FOLDERS = (('gn-ws-all', 'gn+ws'), ('gn-all', 'gn'), ('faster-rcnn', 'faster_rcnn'),
               ('mask-rcnn', 'mask_rcnn'))
DET_REF_FILES = [STATE_DICT_KEYS_DIR / f'{name}.json' for name in REF_NAMES
                 if name.startswith(('faster-rcnn', 'mask-rcnn'))]


def seg_config_path(stem: str) -> Path:
    """configs/<folder>/<stem>.py for an mmsegmentation reference file stem (HRNet's FCN
    configs live in hrnet/)."""
    prefix = stem.split('_')[0]
    folder = 'hrnet' if stem.startswith('fcn_hr') else SEG_FOLDERS.get(prefix, prefix)
    return REPO / 'configs' / folder / f'{stem}.py'


def det_config_path(stem: str) -> Path:
    """configs/<folder>/<stem>.py for an mmdetection reference file stem."""
    folder = next(f for tag, f in DET_FOLDERS if tag in stem)
    return REPO / 'configs' / folder / f'{stem}.py'


def compare_keys(got: dict[str, list[int]], ref: dict[str, list[int]]) -> list[str]:
    """Human-readable differences between two ``{key: shape}`` maps (empty when equal)."""
    missing = sorted(set(ref) - set(got))
    unexpected = sorted(set(got) - set(ref))
    mismatched = sorted(k for k in set(ref) & set(got) if list(ref[k]) != list(got[k]))
    lines = []
    for title, keys, show in (
            ('missing (in mmseg, not in segdet)', missing, lambda k: f'{k} {ref[k]}'),
            ('unexpected (in segdet, not in mmseg)', unexpected, lambda k: f'{k} {got[k]}'),
            ('shape mismatches', mismatched,
             lambda k: f'{k}: segdet {got[k]} vs mmseg {ref[k]}')):
        if keys:
            lines.append(f'{len(keys)} {title}:')
            lines += [f'  {show(k)}' for k in keys[:MAX_LISTED]]
            if len(keys) > MAX_LISTED:
                lines.append(f'  ... and {len(keys) - MAX_LISTED} more')
    return lines


def test_compare_keys_reports_every_kind_of_difference():
    ref = {'a.weight': [2, 3], 'b.bias': [4], 'c.num_batches_tracked': []}
    got = {'a.weight': [3, 2], 'c.num_batches_tracked': [], 'd.weight': [1]}
    assert compare_keys(got, ref) == [
        '1 missing (in mmseg, not in segdet):', '  b.bias [4]',
        '1 unexpected (in segdet, not in mmseg):', '  d.weight [1]',
        '1 shape mismatches:', '  a.weight: segdet [3, 2] vs mmseg [2, 3]']
    assert compare_keys(ref, dict(ref)) == []


def model_keys(config: Path) -> dict[str, list[int]]:
    """``{key: shape}`` of the state dict of the config's model, built on the meta device."""
    cfg = Config.fromfile(str(config))
    init_default_scope('segdet')
    with torch.device('meta'):
        model = MODELS.build(revert_sync_bn_cfg(cfg.model))
    return {k: list(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize('ref_file', REF_FILES or [None],
                         ids=lambda p: p.stem if p is not None else 'none')
def test_state_dict_keys_match_mmseg(ref_file):
    if ref_file is None:
        pytest.fail(f'{STATE_DICT_KEYS_DIR} holds no reference for any of {ALGORITHMS}')
    config = seg_config_path(ref_file.stem)
    assert config.is_file(), f'{ref_file.name} has no segdet config {config}'
    ref = state_dict_reference(ref_file.stem)
    got = model_keys(config)
    diffs = compare_keys(got, ref['keys'])
    assert not diffs, (f'{config.relative_to(REPO)} vs {ref.get("source", ref_file.name)} '
                       f'({len(got)} vs {len(ref["keys"])} keys):\n' + '\n'.join(diffs))
    assert len(got) == ref['num_keys']


@pytest.mark.parametrize('ref_file', DET_REF_FILES or [None],
                         ids=lambda p: p.stem if p is not None else 'none')
def test_state_dict_keys_match_mmdet(ref_file):
    if ref_file is None:
        pytest.fail(f'{STATE_DICT_KEYS_DIR} holds no Faster/Mask R-CNN reference')
    config = det_config_path(ref_file.stem)
    assert config.is_file(), f'{ref_file.name} has no segdet config {config}'
    ref = state_dict_reference(ref_file.stem)
    got = model_keys(config)
    diffs = compare_keys(got, ref['keys'])
    assert not diffs, (f'{config.relative_to(REPO)} vs {ref.get("source", ref_file.name)} '
                       f'({len(got)} vs {len(ref["keys"])} keys):\n' + '\n'.join(diffs))
    assert len(got) == ref['num_keys']


def test_every_top_level_reference_is_a_case():
    """Every reference file under state_dict_keys/ is compared to a config above."""
    cases = {p.stem for p in REF_FILES + DET_REF_FILES}
    assert cases == set(REF_NAMES), f'reference files with no key test: {set(REF_NAMES) - cases}'
