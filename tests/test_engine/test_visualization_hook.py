"""VisualizationHook under its three registered names: the defaults of each, and test and
validation images of a segmentation and of a detection sample whatever the runner's
visualizer is called (``tools/test.py --show-dir``: tests/test_tools/test_show_dir_hook.py)."""
import itertools
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from segdet.engine.hooks import DetVisualizationHook, SegVisualizationHook, VisualizationHook
from segdet.registry import HOOKS, VISUALIZERS
from segdet.structures import DataSample

CLASSES = ('cat', 'dog')
PALETTE = [(255, 0, 0), (0, 0, 255)]  # RGB
GREY = 100
H, W = 60, 80
_IDS = itertools.count()


def fake_runner(tmp_path: Path, visualizer_type: str) -> SimpleNamespace:
    """What the hook reads from a runner: visualizer, work dir, data sets' metainfo, iter."""
    vis = VISUALIZERS.build(dict(type=visualizer_type, name=f'hook_vis_{next(_IDS)}'))
    loader = SimpleNamespace(dataset=SimpleNamespace(
        metainfo=dict(classes=CLASSES, palette=PALETTE)))
    return SimpleNamespace(visualizer=vis, work_dir=str(tmp_path / 'work'), iter=3,
                           test_dataloader=loader, val_dataloader=loader)


def sample(tmp_path: Path, family: str) -> DataSample:
    """A grey 60x80 PNG with a segmentation or a detection result."""
    img_path = tmp_path / 'img_0.png'
    cv2.imwrite(str(img_path), np.full((H, W, 3), GREY, np.uint8))
    s = DataSample(metainfo=dict(img_path=str(img_path), ori_shape=(H, W)))
    if family == 'seg':
        gt = torch.zeros(1, H, W, dtype=torch.long)
        s.gt_sem_seg = PixelData(data=gt)
        s.pred_sem_seg = PixelData(data=gt + 1)
    else:
        s.gt_instances = InstanceData(bboxes=torch.tensor([[10., 20., 30., 40.]]),
                                      labels=torch.tensor([0]))
        s.pred_instances = InstanceData(
            bboxes=torch.tensor([[40., 20., 70., 40.], [5., 45., 20., 55.]]),
            labels=torch.tensor([1, 0]), scores=torch.tensor([0.8, 0.2]))
    return s


def test_registered_names_and_defaults() -> None:
    for name in ('VisualizationHook', 'SegVisualizationHook'):
        hook = HOOKS.build(dict(type=name))
        assert type(hook) is VisualizationHook
        assert (hook.draw, hook.interval, hook.draw_gt, hook.score_thr) == (False, 1, False, None)
    assert SegVisualizationHook is VisualizationHook
    det = HOOKS.build(dict(type='DetVisualizationHook', test_out_dir='out'))
    assert isinstance(det, VisualizationHook) and type(det) is DetVisualizationHook
    assert (det.interval, det.score_thr, det.show_dir) == (50, 0.3, 'out')
    assert HOOKS.build(dict(type='DetVisualizationHook', test_out_dir='a',
                            show_dir='b')).show_dir == 'b'


@pytest.mark.parametrize('hook_type', ['VisualizationHook', 'SegVisualizationHook',
                                       'DetVisualizationHook'])
@pytest.mark.parametrize('visualizer_type', ['SegLocalVisualizer', 'DetLocalVisualizer'])
@pytest.mark.parametrize('family', ['seg', 'det'])
def test_test_images_of_both_families(tmp_path: Path, hook_type: str, visualizer_type: str,
                                      family: str) -> None:
    hook = HOOKS.build(dict(type=hook_type, draw=True, interval=1, draw_gt=True,
                            show_dir='show', alpha=1.0))
    runner = fake_runner(tmp_path, visualizer_type)
    hook.after_test_iter(runner, 0, None, [sample(tmp_path, family)])
    assert hook._visualizer is runner.visualizer  # every name is the one visualizer
    written = cv2.imread(str(tmp_path / 'work' / 'show' / 'img_0.png'))[..., ::-1]
    assert written.shape == (H, 2 * W, 3)
    gt, pred = written[:, :W], written[:, W:]
    if family == 'seg':
        assert (gt == PALETTE[0]).all() and (pred == PALETTE[1]).all()
    else:
        assert (gt[30, 10] == PALETTE[0]).all() and (pred[30, 40] == PALETTE[1]).all()
        # The 0.2 cat: below the visualizer's score_thr (0.3) and DetVisualizationHook's.
        assert (pred[44:, :22] == GREY).all()


def test_val_images_go_to_the_backend_with_the_iteration(tmp_path: Path) -> None:
    vis = VISUALIZERS.build(dict(type='SegLocalVisualizer', name=f'hook_vis_{next(_IDS)}',
                                 save_dir=str(tmp_path / 'vis'),
                                 vis_backends=[dict(type='LocalVisBackend')]))
    runner = fake_runner(tmp_path, 'LocalVisualizer')
    runner.visualizer = vis
    VisualizationHook(draw=True).after_val_iter(runner, 0, None, [sample(tmp_path, 'det')])
    logged = list((tmp_path / 'vis').rglob('val_img_0*.png'))
    assert len(logged) == 1 and '3' in logged[0].name
    drawn = cv2.imread(str(logged[0]))[..., ::-1]
    assert drawn.shape == (H, 2 * W, 3) and (drawn[30, W + 40] == PALETTE[1]).all()
