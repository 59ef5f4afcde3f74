"""Every model-zoo method trains 3 iterations through ``tools/train.py`` on tiny shapes data
(its shipped Cityscapes config, inherited by a test-only config that shrinks widths and images;
the shipped configs are untouched), then predicts at the original image size in whole and
slide mode.

A new method adds one entry to :data:`ZOO_CASES`: its config (relative to ``configs/``) and the
``model`` overrides that make it small (ResNet-18-like widths, few channels). Pretrained weights
are switched off here (tests never download); everything else is the shipped config.
"""
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from segdet.apis import inference_model, init_model
from tool_run_helpers import REPO, run_tool

#: 64x64 shapes images, 4 classes in 19-class Cityscapes configs (labels 0-3 are valid ids).
SIZE = 64
TRAIN_ITERS = 3

#: config (relative to configs/) -> overrides merged into its ``model`` (a dict).
ZOO_CASES: dict[str, dict[str, Any]] = {
    # the shipped 97x97 window over a 4x4 (whole) or 3x3 (slide) shrunk map
    'psanet/psanet_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=8),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'ccnet/ccnet_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=8),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'hrnet/fcn_hr18_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(extra=dict(
            stage1=dict(num_blocks=(1, ), num_channels=(8, )),
            stage2=dict(num_blocks=(1, 1), num_channels=(4, 8)),
            stage3=dict(num_modules=1, num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
            stage4=dict(num_modules=1, num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32)))),
        decode_head=dict(in_channels=[4, 8, 16, 32], channels=60)),
    # a list of heads is replaced whole: both are restated, narrow
    'point_rend/pointrend_r50_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        neck=dict(in_channels=[8, 16, 32, 64], out_channels=8),
        decode_head=[
            dict(type='FPNHead', in_channels=[8, 8, 8, 8], in_index=[0, 1, 2, 3],
                 feature_strides=[4, 8, 16, 32], channels=8, dropout_ratio=-1, num_classes=19,
                 norm_cfg=dict(type='SyncBN', requires_grad=True), align_corners=False),
            dict(type='PointHead', in_channels=[8], in_index=[0], channels=8, num_fcs=3,
                 coarse_pred_each_layer=True, dropout_ratio=-1, num_classes=19,
                 align_corners=False)]),
    'encnet/encnet_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=[16, 32, 64], channels=16, num_codes=4),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'danet/danet_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=16, pam_channels=4),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'upernet/upernet_r50_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=[8, 16, 32, 64], channels=8),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'sem_fpn/fpn_r50_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        neck=dict(in_channels=[8, 16, 32, 64], out_channels=8),
        decode_head=dict(in_channels=[8, 8, 8, 8], channels=8)),
    'apcnet/apcnet_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=8),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'dmnet/dmnet_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=8),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'ann/ann_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=[32, 64], channels=16, project_channels=4),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'nonlocal_net/nonlocal_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=8),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'dnlnet/dnl_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=8),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'gcnet/gcnet_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=8),
        auxiliary_head=dict(in_channels=32, channels=8)),
    'emanet/emanet_r50-d8_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=64, channels=8, ema_channels=8, num_bases=4),
        auxiliary_head=dict(in_channels=32, channels=8)),
    # ResNeSt-50 (radix 2) at 1/8 width: stages 3 and 4 are 128 and 256 channels wide
    'resnest/resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(depth=50, stem_channels=16, base_channels=8),
        decode_head=dict(in_channels=256, channels=8),
        auxiliary_head=dict(in_channels=128, channels=8)),
    # widen_factor 0.25: stages 2, 3, 5, 7 are 8, 8, 24, 80 channels wide
    'mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py': dict(
        backbone=dict(widen_factor=0.25),
        decode_head=dict(in_channels=80, channels=8, c1_in_channels=8, c1_channels=8),
        auxiliary_head=dict(in_channels=24, channels=8)),
    # widths 8, 16, 32 (stage-2 output 2 * 32 = 64), 1 + 2 blocks; the 19 class weights stay
    'cgnet/cgnet_fcn_4xb8-60k_cityscapes-512x1024.py': dict(
        backbone=dict(num_channels=(8, 16, 32), num_blocks=(1, 2), reductions=(4, 8)),
        decode_head=dict(in_channels=64, channels=64)),
    # the fp16 recipe (AmpOptimWrapper, loss_scale=512): bf16 autocast on a CPU with native
    # bf16, fp32 elsewhere. Detail widths 8, 8, 16, semantic 4, 8, 16, 16, expansion 2; the
    # list of booster heads is replaced whole.
    'bisenetv2/bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024.py': dict(
        backbone=dict(detail_channels=(8, 8, 16), semantic_channels=(4, 8, 16, 16),
                      semantic_expansion_ratio=2, bga_channels=16),
        decode_head=dict(in_channels=16, channels=16),
        auxiliary_head=[
            dict(type='FCNHead', in_channels=c, channels=8, num_convs=2, num_classes=19,
                 in_index=i, norm_cfg=dict(type='SyncBN', requires_grad=True),
                 concat_input=False, align_corners=False)
            for i, c in ((1, 4), (2, 8), (3, 16), (4, 16))]),
    # MobileNetV3-small (the -s configs' backbone, cheaper than large), a narrow head; the
    # 49x49 image-pooling window is clamped to the 8x8 (whole) or 6x6 (slide) stride-8 map
    'mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py': dict(
        backbone=dict(arch='small', out_indices=(0, 1, 12)),
        decode_head=dict(in_channels=(16, 16, 576), channels=8, branch_channels=(8, 8))),
    # a quarter of the widths: stride-8 map 16, global features 32 (PPM branches 8), fused
    # 32; the list of auxiliary heads is replaced whole
    'fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py': dict(
        backbone=dict(downsample_dw_channels=(8, 12), global_in_channels=16,
                      global_block_channels=(16, 24, 32), global_out_channels=32,
                      higher_in_channels=16, lower_in_channels=32, fusion_out_channels=32),
        decode_head=dict(in_channels=32, channels=16),
        auxiliary_head=[
            dict(type='FCNHead', in_channels=c, channels=8, num_convs=1, num_classes=19,
                 in_index=i, norm_cfg=dict(type='SyncBN', requires_grad=True, momentum=0.01),
                 concat_input=False, align_corners=False,
                 loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.4))
            for i, c in ((-2, 32), (-3, 16))]),
}


def tiny_config(tmp_path: Path, case: str, data_root: Path) -> Path:
    """A config file inheriting ``configs/<case>`` with tiny data, widths and no pretrained
    weights."""
    overrides = ZOO_CASES[case]
    data = dict(num_workers=0, persistent_workers=False)  # DataLoader arguments
    train_pipeline = [
        dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
        dict(type='RandomFlip', prob=0.5), dict(type='PackSegInputs')]
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                     dict(type='PackSegInputs')]
    body = {
        'model': {**overrides, 'pretrained': None,
                  'data_preprocessor': dict(size=(SIZE, SIZE)),
                  'test_cfg': dict(mode='whole')},
        'train_dataloader': dict(batch_size=2, **data, dataset=dict(
            data_root=str(data_root), pipeline=train_pipeline)),
        'val_dataloader': dict(batch_size=1, **data, dataset=dict(
            data_root=str(data_root), pipeline=test_pipeline)),
        'test_dataloader': dict(batch_size=1, **data, dataset=dict(
            data_root=str(data_root), pipeline=test_pipeline)),
        'train_cfg': dict(max_iters=TRAIN_ITERS, val_interval=TRAIN_ITERS),
        'default_hooks': dict(checkpoint=dict(interval=TRAIN_ITERS, save_best=None),
                              logger=dict(interval=1)),
        'param_scheduler': [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0,
                                 end=TRAIN_ITERS, by_epoch=False)],
        'visualizer': dict(name=f'vis_{Path(case).stem}'),
    }
    path = tmp_path / f'tiny_{Path(case).stem}.py'
    lines = [f'_base_ = [{str(REPO / "configs" / case)!r}]']
    lines += [f'{key} = {value!r}' for key, value in body.items()]
    path.write_text('\n'.join(lines) + '\n')
    return path


#: the model-zoo folders whose methods must all be in ZOO_CASES.
ZOO_FOLDERS = ('ann', 'apcnet', 'ccnet', 'danet', 'dmnet', 'dnlnet', 'emanet', 'encnet', 'gcnet',
               'hrnet', 'nonlocal_net', 'point_rend', 'psanet', 'sem_fpn', 'upernet',
               'resnest', 'mobilenet_v2', 'mobilenet_v3', 'fastscnn', 'cgnet', 'bisenetv2')


def test_every_zoo_folder_has_a_case():
    covered = {case.split('/')[0] for case in ZOO_CASES}
    assert covered >= set(ZOO_FOLDERS), f'no ZOO_CASES entry for {set(ZOO_FOLDERS) - covered}'
    for case in ZOO_CASES:
        assert (REPO / 'configs' / case).is_file(), f'ZOO_CASES names a missing config {case}'


@pytest.mark.parametrize('case', sorted(ZOO_CASES))
def test_method_trains_and_predicts_at_the_original_size(case, tmp_path, shapes_root):
    config = tiny_config(tmp_path, case, shapes_root)
    work_dir = tmp_path / 'work'
    done = run_tool('train.py', str(config), '--work-dir', str(work_dir))
    assert done.returncode == 0, f'{case}: tools/train.py failed:\n{done.stderr[-4000:]}'
    scalars = [json.loads(line) for line in
               next(work_dir.rglob('scalars.json')).read_text().splitlines()]
    assert any('mIoU' in s for s in scalars), f'{case}: no validation metrics logged'
    checkpoint = work_dir / f'iter_{TRAIN_ITERS}.pth'
    image = next((shapes_root / 'leftImg8bit' / 'val').rglob('*.png'))
    init_default_scope('segdet')
    for mode in ('whole', 'slide'):
        cfg = Config.fromfile(str(config))
        if mode == 'slide':
            # keep the method's other test_cfg keys (PointRend's subdivision settings)
            cfg.model.test_cfg = dict(cfg.model.test_cfg, mode='slide', crop_size=(48, 48),
                                      stride=(32, 32))
        model = init_model(cfg, str(checkpoint), device='cpu')
        with torch.no_grad():
            sample = inference_model(model, str(image))
        assert sample.pred_sem_seg.data.shape == (1, SIZE, SIZE), (case, mode)
        assert sample.seg_logits.data.shape[1:] == (SIZE, SIZE), (case, mode)
