"""tools/train.py and tools/test.py on a detection config: the demo Mask R-CNN trains a few
iterations (with --amp) on a tiny COCO-format shapes tree, tools/test.py prints the COCO tables, writes
COCO results JSON that pycocotools loads, draws [ground truth | prediction] boxes and masks with
--show-dir, and confusion_matrix.py counts its results; --tta merges a flipped and an unflipped
view."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from pycocotools.coco import COCO

from segdet.datasets.synthetic import write_shapes_coco
from segdet.engine import register_all_modules
from segdet.registry import DATASETS, MODELS
from tool_run_helpers import REPO, cli_options, load_tool, run_tool

DEMO = REPO / 'configs' / 'demo' / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'
ITERS = 3


def options(root: Path) -> dict:
    opts = {'data_root': f'{root}/',
            'val_evaluator.ann_file': f'{root}/annotations/instances_val.json',
            'test_evaluator.ann_file': f'{root}/annotations/instances_val.json',
            'train_cfg.max_iters': ITERS, 'train_cfg.val_interval': ITERS,
            'train_dataloader.batch_size': 2, 'default_hooks.checkpoint.interval': ITERS,
            'default_hooks.logger.interval': 1, 'model.backbone.base_channels': 16,
            'model.neck.in_channels': (16, 32, 64, 128), 'visualizer.name': 'det_tools_vis'}
    for split in ('train', 'val', 'test'):
        opts.update({f'{split}_dataloader.dataset.data_root': f'{root}/',
                     f'{split}_dataloader.num_workers': 0,
                     f'{split}_dataloader.persistent_workers': False})
    return opts


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp('det_tools')
    root = base / 'shapes_coco'
    write_shapes_coco(str(root), num_train=6, num_val=3, size=64, seed=0)
    work = base / 'work'
    # --amp: bf16 autocast on CPUs with native bf16, fp32 with a warning elsewhere
    done = run_tool('train.py', str(DEMO), '--work-dir', str(work), '--amp', '--cfg-options',
                    *cli_options(options(root)))
    assert done.returncode == 0, done.stderr[-4000:]
    return root, work, done


def test_train_logs_all_losses_and_coco_metrics(trained):
    _, work, done = trained
    log = done.stdout + done.stderr
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask',
                'coco/bbox_mAP', 'coco/segm_mAP'):
        assert key in log, key
    assert (work / f'iter_{ITERS}.pth').is_file()


def test_test_tool_writes_coco_results_and_overlays(trained, tmp_path):
    root, work, _ = trained
    out, show = tmp_path / 'out', tmp_path / 'show'
    done = run_tool('test.py', str(DEMO), str(work / f'iter_{ITERS}.pth'), '--work-dir',
                    str(tmp_path / 'test_work'), '--out', str(out), '--show-dir', str(show),
                    '--cfg-options', *cli_options(options(root)))
    assert done.returncode == 0, done.stderr[-4000:]
    log = done.stdout + done.stderr
    assert 'Average Precision' in log and 'coco/segm_mAP' in log
    gt = COCO(str(root / 'annotations' / 'instances_val.json'))
    for kind in ('bbox', 'segm'):
        path = out / f'results.{kind}.json'
        assert path.is_file(), sorted(p.name for p in out.iterdir())
        results = gt.loadRes(str(path))
        assert set(results.getImgIds()) <= set(gt.getImgIds())
    assert len(list(show.rglob('*.png'))) == 3
    # --show-dir: [ground truth | prediction]; every ground-truth box is outlined on the left.
    images = {img['file_name']: img['id'] for img in gt.dataset['images']}
    for png in sorted(show.rglob('*.png')):
        drawn = cv2.imread(str(png))
        name = next(n for n in images if Path(n).stem == png.stem)
        image = cv2.imread(str(root / 'val' / name))
        assert drawn.shape == (64, 128, 3)
        left = drawn[:, :64]
        for ann in gt.loadAnns(gt.getAnnIds(imgIds=images[name])):
            x, y, w, h = ann['bbox']
            px, py = min(int(round(x)), 63), min(int(round(y + h / 2)), 63)
            assert (left[py, px] != image[py, px]).any(), (png.name, ann['bbox'])

    # confusion_matrix.py on the results: each ground-truth row sums to its instance count.
    matrix = load_tool('analysis_tools/confusion_matrix.py').main(
        [str(DEMO), str(out), str(tmp_path / 'cm'), '--score-thr', '0.05', '--cfg-options',
         *cli_options(options(root))])
    names = [gt.cats[a['category_id']]['name'] for a in gt.dataset['annotations']
             if not a.get('iscrowd')]
    counts = [names.count(c) for c in ('circle', 'rectangle', 'triangle')]
    assert matrix.shape == (4, 4) and matrix[:3].sum(axis=1).tolist() == counts
    assert (tmp_path / 'cm' / 'confusion_matrix.png').is_file()


def test_test_tool_tta_merges_flipped_and_plain_views(trained, tmp_path):
    """--tta on the demo Mask R-CNN: COCO box and mask results equal a DetTTAModel run here."""
    root, work, _ = trained
    out = tmp_path / 'out'
    done = run_tool('test.py', str(DEMO), str(work / f'iter_{ITERS}.pth'), '--tta', '--work-dir',
                    str(tmp_path / 'test_work'), '--out', str(out),
                    '--cfg-options', *cli_options(options(root)))
    assert done.returncode == 0, done.stderr[-4000:]
    log = done.stdout + done.stderr
    assert 'coco/bbox_mAP' in log and 'coco/segm_mAP' in log
    boxes = json.loads((out / 'results.bbox.json').read_text())
    assert len(json.loads((out / 'results.segm.json').read_text())) == len(boxes)

    cfg = Config.fromfile(str(DEMO))
    cfg.merge_from_dict(options(root))
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(cfg.model)
        load_checkpoint(model, str(work / f'iter_{ITERS}.pth'), map_location='cpu', strict=True)
        tta = MODELS.build(dict(cfg.tta_model, module=model)).eval()
        dataset = DATASETS.build({**cfg.test_dataloader.dataset, 'pipeline': cfg.tta_pipeline})
        with torch.no_grad():
            merged = tta.test_step(pseudo_collate([dataset[i] for i in range(len(dataset))]))
    assert len(boxes) == sum(len(m.pred_instances) for m in merged) > 0
    for sample in merged:
        mine = sample.pred_instances
        theirs = [b for b in boxes if b['image_id'] == sample.img_id]
        xyxy = [[x, y, x + w, y + h] for x, y, w, h in (b['bbox'] for b in theirs)]
        order = np.argsort([-b['score'] for b in theirs], kind='stable')
        np.testing.assert_allclose(np.array(xyxy).reshape(-1, 4)[order],
                                   mine.bboxes.numpy(), atol=1e-3)
        np.testing.assert_allclose([theirs[i]['score'] for i in order], mine.scores.numpy(),
                                   atol=1e-6)
