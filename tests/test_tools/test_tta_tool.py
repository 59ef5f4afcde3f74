"""``tools/test.py --tta`` end to end on the shapes data with the shared 4-iteration checkpoint:
the metrics and label PNGs equal a SegTTAModel evaluation made here (12 views; and slide mode
with scales from ``--cfg-options img_ratios``); a config without TTA keys is named."""
import json
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

from segdet.engine import register_all_modules
from segdet.evaluation.metrics import IoUMetric
from segdet.models.test_time_augs import SegTTAModel
from segdet.registry import DATASETS, MODELS
from tool_run_helpers import DEMO_CONFIG, SHAPES, cli_options, eval_options, unique_config

NUM_VAL = SHAPES['num_val']


def tta_myself(data_root: Path, checkpoint: Path, ratios: Optional[list] = None,
               test_cfg: Optional[dict] = None, tta: bool = True
               ) -> tuple[dict[str, float], list[np.ndarray]]:
    """Evaluate the val split here: the checkpoint in a SegTTAModel on the config's
    tta_pipeline (its Resize views replaced by ``ratios``), or plain with ``tta=False``."""
    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.merge_from_dict(eval_options(str(data_root)))
    if test_cfg is not None:
        cfg.model.test_cfg = test_cfg
    pipeline = cfg.tta_pipeline if tta else cfg.test_pipeline
    if ratios is not None:
        pipeline[1].transforms[0] = [dict(type='Resize', scale_factor=r, keep_ratio=True)
                                     for r in ratios]
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(cfg.model)
        load_checkpoint(model, str(checkpoint), map_location='cpu', strict=True)
        if tta:
            model = MODELS.build(dict(type='SegTTAModel', module=model))
        model.eval()
        dataset = DATASETS.build({**cfg.test_dataloader.dataset, 'pipeline': pipeline})
        data = pseudo_collate([dataset[i] for i in range(len(dataset))])
        with torch.no_grad():
            outputs = model.test_step(data)
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dataset.metainfo
    metric.process(data, outputs)
    preds = [o.pred_sem_seg.data[0].numpy().astype(np.int64) for o in outputs]
    assert [Path(o.img_path).name for o in outputs] == [
        f'val_{i:05d}_leftImg8bit.png' for i in range(NUM_VAL)]
    return metric.evaluate(len(dataset)), preds


def metric_json(work_dir: Path) -> dict[str, Any]:
    logs = sorted(work_dir.glob('*/*.json'))
    assert len(logs) == 1, f'expected one metric JSON under {work_dir}, found {logs}'
    return json.loads(logs[0].read_text().strip().splitlines()[-1])


def read_pngs(directory: Path) -> list[np.ndarray]:
    names = [f'val_{i:05d}.png' for i in range(NUM_VAL)]
    assert sorted(p.name for p in directory.iterdir()) == names
    return [cv2.imread(str(directory / name), cv2.IMREAD_UNCHANGED) for name in names]


@pytest.fixture
def views_seen(monkeypatch) -> list[int]:
    """The number of views SegTTAModel merges for each image (recorded in-process)."""
    seen: list[int] = []
    merge = SegTTAModel.merge_preds

    def spy(self, data_samples_list):
        seen.extend(len(views) for views in data_samples_list)
        return merge(self, data_samples_list)
    monkeypatch.setattr(SegTTAModel, 'merge_preds', spy)
    return seen


def run_tta(tool_argv, test_tool, tmp_path: Path, trained, *extra: str,
            options: Optional[dict] = None) -> tuple[dict[str, Any], list[np.ndarray]]:
    """``tools/test.py DEMO CKPT --tta *extra`` in-process: the metrics and the label PNGs."""
    work, out = tmp_path / 'work', tmp_path / 'pred'
    config = unique_config(tmp_path, f'tta_{tmp_path.name}')
    tool_argv(test_tool, str(config), str(trained.checkpoint), '--tta', *extra,
              '--work-dir', str(work), '--out', str(out), '--cfg-options',
              *cli_options({**eval_options(str(trained.data_root)), **(options or {})}))
    return metric_json(work), read_pngs(out)


def test_tta_metrics_and_predictions_equal_own_evaluation(trained, tmp_path, tool_argv,
                                                          test_tool, views_seen) -> None:
    tool, pngs = run_tta(tool_argv, test_tool, tmp_path, trained)
    assert views_seen == [12] * NUM_VAL  # 6 scales x 2 flips
    mine, preds = tta_myself(trained.data_root, trained.checkpoint)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert tool[key] == mine[key], key
    for png, pred in zip(pngs, preds):
        assert png.shape == (SHAPES['size'], ) * 2 and np.array_equal(png, pred)
    # Not vacuous: 12 views predict differently from plain whole-image inference.
    _, plain = tta_myself(trained.data_root, trained.checkpoint, tta=False)
    assert any(not np.array_equal(p, q) for p, q in zip(preds, plain))


def test_tta_in_slide_mode_with_ratios_from_the_command_line(trained, tmp_path, tool_argv,
                                                             test_tool, views_seen) -> None:
    slide = dict(mode='slide', crop_size=(48, 48), stride=(32, 32))
    tool, pngs = run_tta(tool_argv, test_tool, tmp_path, trained, '--mode', 'slide',
                         '--crop-size', '48', '48', '--stride', '32', '32',
                         options={'img_ratios': [1.0, 1.5]})
    assert views_seen == [4] * NUM_VAL  # 2 scales x 2 flips
    mine, preds = tta_myself(trained.data_root, trained.checkpoint, [1.0, 1.5], slide)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert tool[key] == mine[key], key
    for png, pred in zip(pngs, preds):
        assert np.array_equal(png, pred)


def test_tta_without_tta_model_names_the_config(tmp_path, tool_argv, test_tool) -> None:
    config = unique_config(tmp_path, 'no_tta_model', 'tta_model = None\n')
    ckpt = tmp_path / 'never_loaded.pth'
    ckpt.write_bytes(b'')
    args = tool_argv(test_tool, str(config), str(ckpt), '--tta', '--work-dir', str(tmp_path),
                     entry='parse_args')
    with pytest.raises(KeyError) as info:
        test_tool.build_cfg(args)
    assert f'--tta: the config {config} defines no tta_model.' in str(info.value)
