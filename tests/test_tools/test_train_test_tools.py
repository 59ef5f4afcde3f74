"""End to end: ``tools/train.py`` trains a few iterations on generated shapes data and writes a
checkpoint; ``tools/test.py`` evaluates it in whole and slide mode; bad input is named.

One training run through the real command line is shared by the whole module (see
``conftest.py``); the other tool runs are in-process (``main()`` with ``sys.argv`` set) to save
the ~5 s of imports a subprocess costs. Expected metrics and predictions are computed here
without the tools: the checkpoint loaded into a freshly built model, ``IoUMetric`` and numpy.
"""
import json
import re
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

import segdet.engine.checkpoint as safe_checkpoint
from segdet.engine import load_checkpoint_file, register_all_modules
from segdet.evaluation.metrics import IoUMetric
from segdet.registry import DATASETS, MODELS
from segdet.utils import UnknownTypeError
from segdet.visualization import overlay_sem_seg
from tool_run_helpers import (DEMO_CONFIG, DEMO_NAME, SHAPES, TRAIN_ITERS, cli_options,
                              copy_work_dir, eval_options, log_text, metric_json, run_tool,
                              train_options, unique_config)

NUM_VAL = SHAPES['num_val']
NUM_CLASSES = 4
SLIDE = dict(mode='slide', crop_size=(48, 48), stride=(32, 32))


# ---------------------------------------------------------------------------- helpers
def resolved_cfg(data_root: Path, test_cfg: Optional[dict] = None) -> Config:
    """The demo config with the test options applied here (not by the tools)."""
    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.merge_from_dict(eval_options(str(data_root)))
    if test_cfg is not None:
        cfg.model.test_cfg = test_cfg
    return cfg


def predict_myself(data_root: Path, checkpoint: Path,
                   test_cfg: Optional[dict] = None) -> tuple[dict[str, float], list[np.ndarray]]:
    """Load ``checkpoint`` into a new model, predict the val split in one batch of 8 (as the
    tool's loader does) and evaluate with ``IoUMetric``.

    Returns:
        The metric dict and the (H, W) int64 prediction of each val image, in file order.
    """
    cfg = resolved_cfg(data_root, test_cfg)
    register_all_modules(init_default_scope=False)  # mmengine's load_checkpoint: segdet's loader
    with DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(cfg.model)
        load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True)
        model.eval()
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        assert len(dataset) == NUM_VAL
        data = pseudo_collate([dataset[i] for i in range(len(dataset))])
        with torch.no_grad():
            outputs = model.test_step(data)
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dataset.metainfo
    metric.process(data, outputs)
    metrics = metric.evaluate(len(dataset))
    preds = [o.pred_sem_seg.data[0].numpy().astype(np.int64) for o in outputs]
    names = [Path(o.img_path).name for o in outputs]
    assert names == [f'val_{i:05d}_leftImg8bit.png' for i in range(NUM_VAL)]
    return metrics, preds


def numpy_metrics(preds: list[np.ndarray], data_root: Path) -> dict[str, float]:
    """aAcc, mIoU, mAcc in percent (unrounded) from the label PNGs on disk, with numpy."""
    inter, union, labeled = (np.zeros(NUM_CLASSES) for _ in range(3))
    for i, pred in enumerate(preds):
        gt = cv2.imread(str(data_root / 'gtFine' / 'val' / 'shapes' /
                            f'val_{i:05d}_gtFine_labelTrainIds.png'), cv2.IMREAD_UNCHANGED)
        valid = gt != 255
        p, g = pred[valid], gt[valid].astype(np.int64)
        hit = np.bincount(g[p == g], minlength=NUM_CLASSES)
        area_p = np.bincount(p, minlength=NUM_CLASSES)
        area_g = np.bincount(g, minlength=NUM_CLASSES)
        inter += hit
        union += area_p + area_g - hit
        labeled += area_g
    with np.errstate(invalid='ignore', divide='ignore'):
        return dict(aAcc=100 * inter.sum() / labeled.sum(),
                    mIoU=100 * np.nanmean(inter / union), mAcc=100 * np.nanmean(inter / labeled))


def read_pngs(directory: Path, suffix: str = '', flags: int = cv2.IMREAD_UNCHANGED) -> list:
    """``val_{i:05d}{suffix}.png`` for every val image, asserting there is nothing else."""
    names = [f'val_{i:05d}{suffix}.png' for i in range(NUM_VAL)]
    assert sorted(p.name for p in directory.iterdir()) == names
    return [cv2.imread(str(directory / name), flags) for name in names]


def assert_same_metrics(tool: dict[str, Any], mine: dict[str, float]) -> None:
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert tool[key] == mine[key], key


@pytest.fixture(scope='module')
def whole_myself(trained) -> tuple[dict[str, float], list[np.ndarray]]:
    """Whole-mode metrics and predictions of the trained checkpoint, computed here."""
    return predict_myself(trained.data_root, trained.checkpoint)


# ---------------------------------------------------------------------------- train.py
def test_train_writes_checkpoint_config_and_logs(trained) -> None:
    work = trained.work_dir
    assert (work / 'last_checkpoint').read_text().strip() == str(trained.checkpoint)
    assert trained.checkpoint.is_file()
    assert sorted(p.name for p in work.glob('*.pth')) == [f'iter_{TRAIN_ITERS}.pth']

    # The resolved config is dumped with the command-line overrides applied.
    dumped = Config.fromfile(str(work / f'{DEMO_NAME}.py'))
    assert dumped.train_cfg.max_iters == TRAIN_ITERS
    assert dumped.train_dataloader.dataset.data_root == str(trained.data_root)
    assert dumped.val_dataloader.dataset.data_root == str(trained.data_root)
    assert dumped.model.backbone.base_channels == 16
    assert dumped.optim_wrapper.optimizer.lr == 1e-5

    # Scalars: one train record per iteration with a finite decode.loss_ce, then val metrics.
    scalars = [json.loads(line) for p in work.glob('*/vis_data/scalars.json')
               for line in p.read_text().splitlines()]
    train_rows = [r for r in scalars if 'decode.loss_ce' in r]
    assert [r['step'] for r in train_rows] == [1, 2, 3, 4]
    # A 4-class classifier near its initialisation: cross entropy close to ln(4).
    assert all(abs(r['decode.loss_ce'] - np.log(NUM_CLASSES)) < 0.5 for r in train_rows)
    val_rows = [r for r in scalars if 'mIoU' in r]
    assert len(val_rows) == 1 and val_rows[0]['step'] == TRAIN_ITERS
    assert 0 < val_rows[0]['mIoU'] <= 100 and 0 < val_rows[0]['aAcc'] <= 100
    assert re.search(r'Iter\(val\) \[1/1\] +aAcc: [\d.]+ +mIoU: [\d.]+', trained.stdout)

    # The only --cfg-options warnings are for the two keys the demo config does not spell out
    # (ResNet constructor defaults); they were applied all the same (see the shapes below).
    warned = re.findall(r"--cfg-options key '([^']+)' is not in the resolved config",
                        trained.stderr)
    assert sorted(warned) == ['model.backbone.base_channels', 'model.backbone.stem_channels']


def test_checkpoint_matches_model_and_meta(trained) -> None:
    ckpt = load_checkpoint_file(trained.checkpoint)  # weights_only=True + segdet's allow-list
    with DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(resolved_cfg(trained.data_root).model)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ckpt['state_dict'].items()} == expected
    assert ckpt['state_dict']['backbone.conv1.weight'].shape == (16, 3, 7, 7)  # stem_channels
    assert ckpt['meta']['iter'] == TRAIN_ITERS
    assert ckpt['meta']['dataset_meta']['classes'] == ('background', 'circle', 'rectangle',
                                                       'triangle')
    losses = ckpt['message_hub']['log_scalars']['train/decode.loss_ce']
    assert len(losses.data[0]) == TRAIN_ITERS
    # Why segdet needs its own loader: torch's default weights-only load refuses this file.
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(trained.checkpoint, weights_only=True)


def test_resume_continues_from_last_checkpoint(trained, tmp_path, tool_argv, train_tool,
                                               monkeypatch) -> None:
    work = copy_work_dir(trained.work_dir, tmp_path / 'work')
    loaded = []

    def spy(filename, *args, **kwargs):
        loaded.append(str(filename))
        return original(filename, *args, **kwargs)
    original = safe_checkpoint.load_checkpoint_file
    monkeypatch.setattr(safe_checkpoint, 'load_checkpoint_file', spy)

    config = unique_config(tmp_path, 'resume_run')
    tool_argv(train_tool, str(config), '--work-dir', str(work), '--resume',
              '--cfg-options', *cli_options(train_options(str(trained.data_root), max_iters=6)))

    assert loaded == [str(work / 'iter_4.pth')]  # through segdet's safe loader, not trusted
    assert (work / 'last_checkpoint').read_text().strip() == str(work / 'iter_6.pth')
    before = load_checkpoint_file(work / 'iter_4.pth')
    after = load_checkpoint_file(work / 'iter_6.pth')
    assert after['meta']['iter'] == 6
    # The HistoryBuffer came back from the checkpoint: its 4 values, then 2 new ones.
    old = before['message_hub']['log_scalars']['train/decode.loss_ce'].data[0]
    new = after['message_hub']['log_scalars']['train/decode.loss_ce'].data[0]
    assert len(new) == 6 and np.array_equal(new[:4], old)
    # AdamW's step count continued (a weights-only load would restart it at 0 and end at 2).
    assert {int(s['step']) for s in after['optimizer']['state'].values()} == {6}

    log = log_text(work)
    assert f"Auto resumed from the latest checkpoint {work / 'iter_4.pth'}" in log
    assert 'resumed epoch: 0, iter: 4' in log
    trained_iters = re.findall(r'Iter\(train\) \[(\d)/6\]', log)
    assert trained_iters == ['5', '6']


# ---------------------------------------------------------------------------- test.py
def test_whole_mode_equals_own_evaluation(trained, whole_myself, tmp_path) -> None:
    work, out, show = tmp_path / 'work', tmp_path / 'pred', tmp_path / 'show'
    done = run_tool('test.py', str(DEMO_CONFIG), str(trained.checkpoint), '--work-dir', str(work),
                    '--out', str(out), '--show-dir', str(show),
                    '--cfg-options', *cli_options(eval_options(str(trained.data_root))))
    assert done.returncode == 0, done.stderr[-4000:]
    assert re.search(r'Iter\(test\) \[1/1\] +aAcc: [\d.]+ +mIoU: [\d.]+', done.stdout)

    mine, preds = whole_myself
    tool = metric_json(work)
    assert_same_metrics(tool, mine)
    for key, value in numpy_metrics(preds, trained.data_root).items():
        assert abs(tool[key] - value) <= 0.005 + 1e-9, key
    assert len(np.unique(np.concatenate(preds))) >= 2, 'vacuous: a single predicted class'

    # --out: one PNG of class ids per val image, equal to the predictions made here.
    pngs = read_pngs(out)
    for png, pred in zip(pngs, preds):
        assert png.dtype == np.uint8 and png.shape == (SHAPES['size'], ) * 2
        assert png.max() < NUM_CLASSES
        assert np.array_equal(png, pred)

    # --show-dir: [ground truth | prediction] drawn over the input images with the data set's
    # palette (the test pipeline loads the labels).
    overlays = read_pngs(show, '_leftImg8bit', cv2.IMREAD_COLOR)
    palette = DATASETS.get('ShapesDataset').METAINFO['palette']
    size = SHAPES['size']
    for i, (overlay, pred) in enumerate(zip(overlays, preds)):
        img = cv2.imread(str(trained.data_root / 'leftImg8bit' / 'val' / 'shapes' /
                             f'val_{i:05d}_leftImg8bit.png'))
        gt = cv2.imread(str(trained.data_root / 'gtFine' / 'val' / 'shapes' /
                            f'val_{i:05d}_gtFine_labelTrainIds.png'), cv2.IMREAD_UNCHANGED)
        assert overlay.shape == (size, 2 * size, 3)
        assert np.array_equal(overlay[:, :size], overlay_sem_seg(img, gt, palette, alpha=0.5))
        assert np.array_equal(overlay[:, size:], overlay_sem_seg(img, pred, palette, alpha=0.5))
        assert not np.array_equal(overlay[:, size:], img)


def test_slide_mode_equals_own_evaluation(trained, whole_myself, tmp_path, tool_argv,
                                          test_tool) -> None:
    work, out = tmp_path / 'work', tmp_path / 'pred'
    config = unique_config(tmp_path, 'slide_eval')
    tool_argv(test_tool, str(config), str(trained.checkpoint), '--mode', 'slide',
              '--crop-size', '48', '48', '--stride', '32', '32', '--work-dir', str(work),
              '--out', str(out), '--show-dir', str(tmp_path / 'show'), '--no-show-gt',
              '--cfg-options', *cli_options(eval_options(str(trained.data_root))))

    mine, preds = predict_myself(trained.data_root, trained.checkpoint, SLIDE)
    tool = metric_json(work)
    assert_same_metrics(tool, mine)
    assert re.search(r'Iter\(test\) \[1/1\] +aAcc: [\d.]+ +mIoU: [\d.]+', log_text(work))
    for png, pred in zip(read_pngs(out), preds):
        assert np.array_equal(png, pred)
    # --no-show-gt: the prediction panel alone.
    palette = DATASETS.get('ShapesDataset').METAINFO['palette']
    for i, (overlay, pred) in enumerate(
            zip(read_pngs(tmp_path / 'show', '_leftImg8bit', cv2.IMREAD_COLOR), preds)):
        img = cv2.imread(str(trained.data_root / 'leftImg8bit' / 'val' / 'shapes' /
                             f'val_{i:05d}_leftImg8bit.png'))
        assert np.array_equal(overlay, overlay_sem_seg(img, pred, palette, alpha=0.5))
    # The flags took effect: 48x48 crops on 64x64 images predict differently from whole mode.
    assert any(not np.array_equal(s, w) for s, w in zip(preds, whole_myself[1]))


def test_fuse_conv_bn_is_the_default_and_keeps_the_metric(trained, whole_myself, tmp_path,
                                                          tool_argv, test_tool) -> None:
    """BN is folded unless --no-fuse-conv-bn; the log says how many; the metrics are equal."""
    runs = {}
    for name, flags in (('fused', []), ('unfused', ['--no-fuse-conv-bn'])):
        work = tmp_path / name
        tool_argv(test_tool, str(unique_config(tmp_path, f'fuse_{name}')),
                  str(trained.checkpoint), *flags, '--work-dir', str(work),
                  '--cfg-options', *cli_options(eval_options(str(trained.data_root))))
        runs[name] = metric_json(work), log_text(work)
    (fused, fused_log), (unfused, unfused_log) = runs['fused'], runs['unfused']
    folded = re.search(r'fuse_conv_bn: folded (\d+) BatchNorm layers .*\(0 left', fused_log)
    assert folded and int(folded.group(1)) > 0, fused_log[-2000:]
    assert 'fuse_conv_bn: folded' not in unfused_log and 'FuseConvBNHook' not in unfused_log
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert fused[key] == unfused[key] == whole_myself[0][key], key


# ---------------------------------------------------------------------------- bad input
def test_unknown_model_type_names_path_registry_and_closest(tmp_path, tool_argv,
                                                            train_tool) -> None:
    config = unique_config(tmp_path, 'typo_model',
                           "model = dict(decode_head=dict(type='DepthwiseSeparableASPPHaed'))\n")
    with pytest.raises(UnknownTypeError) as info:
        tool_argv(train_tool, str(config), '--work-dir', str(tmp_path / 'work'))
    message = str(info.value)
    assert "unknown type 'DepthwiseSeparableASPPHaed' at model.decode_head.type" in message
    assert 'segdet::model registry' in message
    assert 'closest registered names: DepthwiseSeparableASPPHead' in message


def test_unknown_dataset_type_names_path_registry_and_closest(shapes_root, tmp_path, tool_argv,
                                                              test_tool) -> None:
    # The data set is built lazily (in Runner.test), after the model: the hint still applies.
    config = unique_config(tmp_path, 'typo_dataset',
                           "test_dataloader = dict(dataset=dict(type='ShapeDataset'))\n")
    dummy = tmp_path / 'never_loaded.pth'
    dummy.write_bytes(b'')
    with pytest.raises(UnknownTypeError) as info:
        tool_argv(test_tool, str(config), str(dummy), '--work-dir', str(tmp_path / 'work'),
                  '--cfg-options', *cli_options(eval_options(str(shapes_root))))
    message = str(info.value)
    assert "unknown type 'ShapeDataset' at test_dataloader.dataset.type" in message
    assert 'dataset registry' in message
    assert 'closest registered names: ShapesDataset' in message


@pytest.mark.parametrize('tool_name', ['train_tool', 'test_tool'])
def test_unknown_cfg_option_warns_with_its_name(tool_name, request, tmp_path,
                                                tool_argv) -> None:
    tool = request.getfixturevalue(tool_name)
    ckpt = tmp_path / 'dummy.pth'
    ckpt.write_bytes(b'')
    positional = [str(DEMO_CONFIG)] + ([str(ckpt)] if tool_name == 'test_tool' else [])
    args = tool_argv(tool, *positional, '--work-dir', str(tmp_path), '--cfg-options',
                     'train_cfg.max_iter=4', 'model.decode_head.num_classes=4', entry='parse_args')
    with pytest.warns(UserWarning) as record:
        cfg = tool.build_cfg(args)
    messages = [str(w.message) for w in record if '--cfg-options' in str(w.message)]
    assert len(messages) == 1
    assert "'train_cfg.max_iter'" in messages[0] and str(DEMO_CONFIG.name) in messages[0]
    assert cfg.train_cfg.max_iters == 1500  # the typo did not change the real key


def test_slide_mode_without_crop_size_names_the_flag(tmp_path, tool_argv, test_tool) -> None:
    ckpt = tmp_path / 'dummy.pth'
    ckpt.write_bytes(b'')
    base = [str(DEMO_CONFIG), str(ckpt), '--work-dir', str(tmp_path)]

    args = tool_argv(test_tool, *base, '--mode', 'slide', entry='parse_args')
    with pytest.raises(ValueError, match='--mode slide needs --crop-size and --stride') as info:
        test_tool.build_cfg(args)
    assert 'model.test_cfg.crop_size' in str(info.value)

    args = tool_argv(test_tool, *base, '--mode', 'slide', '--crop-size', '48', '48',
                     entry='parse_args')
    with pytest.raises(ValueError, match='needs --stride') as info:
        test_tool.build_cfg(args)
    assert '--crop-size' not in str(info.value)

    args = tool_argv(test_tool, *base, '--mode', 'slide', '--crop-size', '48', '48',
                     '--stride', '32', '32', '--batch-size', '3', entry='parse_args')
    cfg = test_tool.build_cfg(args)
    assert cfg.model.test_cfg == dict(SLIDE, batch_size=3)
    assert cfg.load_from == str(ckpt)


def test_missing_files_are_named(tmp_path, tool_argv, train_tool, test_tool) -> None:
    missing_cfg = tmp_path / 'no_such_config.py'
    missing_ckpt = tmp_path / 'no_such.pth'
    with pytest.raises(FileNotFoundError, match=re.escape(f'config file not found: {missing_cfg}')):
        tool_argv(train_tool, str(missing_cfg), '--work-dir', str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape(f'config file not found: {missing_cfg}')):
        tool_argv(test_tool, str(missing_cfg), str(missing_ckpt))
    with pytest.raises(FileNotFoundError, match=re.escape(f'checkpoint file not found: {missing_ckpt}')):
        tool_argv(test_tool, str(DEMO_CONFIG), str(missing_ckpt))
