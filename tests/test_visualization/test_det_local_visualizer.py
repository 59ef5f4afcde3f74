"""DetLocalVisualizer / overlay_instances: box outlines, masks, captions, score threshold,
[gt | pred] panels, file output, and the visualization hooks on detection samples."""
import itertools
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from segdet.engine.hooks import DetVisualizationHook
from segdet.registry import HOOKS, VISUALIZERS
from segdet.structures import DataSample
from segdet.visualization import (DetLocalVisualizer, instance_colours, label_colour,
                                  overlay_instances, overlay_keypoints)

CLASSES = ('cat', 'dog')
PALETTE = [(255, 0, 0), (0, 0, 255)]  # RGB
GREY = 100
H, W = 60, 80
_NAMES = itertools.count()


def visualizer(tmp_path, **kwargs) -> DetLocalVisualizer:
    # mmengine keeps visualizers by name: one name per instance.
    vis = DetLocalVisualizer(name=f'det_vis_{tmp_path.name}_{next(_NAMES)}', **kwargs)
    vis.dataset_meta = dict(classes=CLASSES, palette=PALETTE)
    return vis


def grey_image() -> np.ndarray:
    return np.full((H, W, 3), GREY, np.uint8)


def instances(bboxes, labels, scores=None, masks=None) -> InstanceData:
    inst = InstanceData()
    inst.bboxes = torch.tensor(bboxes, dtype=torch.float32).reshape(-1, 4)
    inst.labels = torch.tensor(labels, dtype=torch.long)
    if scores is not None:
        inst.scores = torch.tensor(scores, dtype=torch.float32)
    if masks is not None:
        inst.masks = torch.as_tensor(masks)
    return inst


def is_colour(pixel: np.ndarray, rgb) -> bool:
    return bool((pixel == np.asarray(rgb)).all())


def test_box_outline_in_class_colour_and_caption_above(tmp_path) -> None:
    vis = visualizer(tmp_path)
    s = DataSample()
    s.gt_instances = instances([[20, 30, 60, 50]], [1])
    drawn = vis.add_datasample('x', grey_image(), s, draw_pred=False)
    assert drawn.shape == (H, W, 3)
    dog = PALETTE[1]
    for y, x in [(40, 20), (40, 60), (30, 40), (50, 40)]:  # left, right, top, bottom edges
        assert is_colour(drawn[y, x], dog), (y, x, drawn[y, x])
    for y, x in [(40, 40), (40, 25), (35, 55), (45, 30)]:  # well inside: untouched
        assert (drawn[y, x] == GREY).all(), (y, x)
    caption = drawn[:29, 20:60]  # the "dog" caption sits on a dog-coloured band above
    assert (caption == dog).all(-1).sum() > 50
    assert (drawn[:, :19] == GREY).all() and (drawn[52:] == GREY).all()


def test_caption_kept_inside_the_image() -> None:
    drawn = overlay_instances(np.full((H, W, 3), GREY, np.uint8), np.array([[60., 0., 79., 20.]]),
                              np.array([0]), scores=np.array([0.87]), classes=['a_long_name'],
                              palette=[(0, 255, 0)])
    # No room above a box at the top: the caption goes inside it, shifted left to fit.
    band = (drawn[1:10] == (0, 255, 0)).all(-1)
    assert band[:, 30:60].sum() > 50


def test_mask_region_is_blended(tmp_path) -> None:
    vis = visualizer(tmp_path, alpha=0.5)
    mask = torch.zeros(1, H, W, dtype=torch.bool)
    mask[0, 40:50, 10:20] = True
    s = DataSample()
    s.pred_instances = instances([[5, 30, 40, 58]], [0], scores=[0.9], masks=mask)
    drawn = vis.add_datasample('x', grey_image(), s, draw_gt=False)
    inside = drawn[45, 15].astype(int)
    expected = 0.5 * GREY + 0.5 * np.asarray(PALETTE[0])
    assert np.abs(inside - expected).max() <= 1
    assert (drawn[45, 30] == GREY).all()  # in the box, outside the mask
    assert (drawn[50:, 50:] == GREY).all()  # outside everything


def test_predictions_below_score_thr_not_drawn(tmp_path) -> None:
    vis = visualizer(tmp_path, score_thr=0.3)
    s = DataSample()
    s.pred_instances = instances([[5, 30, 30, 55], [45, 30, 75, 55]], [0, 1],
                                 scores=[0.9, 0.1])
    drawn = vis.add_datasample('x', grey_image(), s, draw_gt=False)
    assert is_colour(drawn[40, 5], PALETTE[0])
    # the 0.1 dog is left out; rows from the boxes' top down hold no caption, whatever the
    # font's width (the cat caption sits above row 30 and may reach past x = 42)
    assert (drawn[30:, 42:] == GREY).all()
    assert not (drawn == PALETTE[1]).all(-1).any()  # its caption too
    lowered = vis.add_datasample('x', grey_image(), s, draw_gt=False, pred_score_thr=0.05)
    assert is_colour(lowered[40, 45], PALETTE[1])


def test_gt_and_pred_panels_written_to_out_file(tmp_path) -> None:
    vis = visualizer(tmp_path)
    s = DataSample()
    s.gt_instances = instances([[10, 20, 30, 40]], [0])
    s.pred_instances = instances([[40, 20, 70, 40]], [1], scores=[0.8])
    out = tmp_path / 'drawn.png'
    drawn = vis.add_datasample('x', grey_image(), s, out_file=str(out))
    written = cv2.imread(str(out))
    assert written.shape == (H, 2 * W, 3)
    assert np.array_equal(written[..., ::-1], drawn)  # RGB returned, BGR written
    gt, pred = drawn[:, :W], drawn[:, W:]
    assert is_colour(gt[30, 10], PALETTE[0]) and (gt[:, 40:] == GREY).all()
    # below the caption (which may shift left to fit the panel) only the box is drawn
    assert is_colour(pred[30, 40], PALETTE[1]) and (pred[20:, :38] == GREY).all()


def test_semantic_map_and_instances_in_one_panel(tmp_path) -> None:
    vis = visualizer(tmp_path, alpha=1.0)
    s = DataSample()
    s.gt_sem_seg = PixelData(data=torch.full((1, H, W), 255, dtype=torch.long))
    s.gt_sem_seg.data[0, :, 60:] = 0
    s.gt_instances = instances([[10, 20, 30, 40]], [1])
    drawn = vis.add_datasample('x', grey_image(), s, draw_pred=False)
    assert (drawn[:, 62:] == PALETTE[0]).all()  # label map
    assert is_colour(drawn[30, 10], PALETTE[1])  # box


def test_empty_instances(tmp_path) -> None:
    vis = visualizer(tmp_path)
    s = DataSample()
    s.gt_instances = instances(np.zeros((0, 4)), [])
    s.pred_instances = instances(np.zeros((0, 4)), [], scores=[],
                                 masks=torch.zeros(0, H, W, dtype=torch.bool))
    drawn = vis.add_datasample('x', grey_image(), s)
    assert drawn.shape == (H, 2 * W, 3) and (drawn == GREY).all()
    img = np.full((H, W, 3), GREY, np.uint8)
    assert np.array_equal(overlay_instances(img, np.zeros((0, 4)), np.zeros(0)), img)


def test_default_colours_are_fixed_per_label() -> None:
    assert label_colour(3) == label_colour(3) != label_colour(4)
    assert instance_colours(np.array([1, 5]), palette=[(1, 2, 3), (4, 5, 6)]) == \
        [(4, 5, 6), label_colour(5)]
    img = np.full((H, W, 3), GREY, np.uint8)
    drawn = overlay_instances(img, np.array([[10., 10., 30., 30.]]), np.array([7]))
    assert is_colour(drawn[20, 10], label_colour(7)[::-1])  # BGR


def test_overlay_rejects_mismatched_masks() -> None:
    with pytest.raises(ValueError, match='masks'):
        overlay_instances(np.zeros((H, W, 3), np.uint8), np.zeros((1, 4)), np.zeros(1),
                          masks=np.zeros((1, H + 1, W), bool))


def fake_runner(tmp_path, vis) -> SimpleNamespace:
    """What the hooks read from a runner: visualizer, work dir, data sets' metainfo, iter."""
    loader = SimpleNamespace(dataset=SimpleNamespace(
        metainfo=dict(classes=CLASSES, palette=PALETTE)))
    return SimpleNamespace(visualizer=vis, work_dir=str(tmp_path / 'work'), iter=7,
                           test_dataloader=loader, val_dataloader=loader)


def detection_sample(tmp_path) -> DataSample:
    img_path = tmp_path / 'img_0.jpg'
    cv2.imwrite(str(img_path), np.full((H, W, 3), GREY, np.uint8))
    s = DataSample(metainfo=dict(img_path=str(img_path), ori_shape=(H, W)))
    s.gt_instances = instances([[10, 20, 30, 40]], [0])
    s.pred_instances = instances([[40, 20, 70, 40], [5, 5, 15, 15]], [1, 0], scores=[0.8, 0.2])
    return s


@pytest.mark.parametrize('hook_cfg', [
    dict(type='DetVisualizationHook', draw=True, interval=1, draw_gt=True, test_out_dir='show'),
    # tools/test.py --show-dir on a detection config (runtime visualizer DetLocalVisualizer).
    dict(type='SegVisualizationHook', draw=True, interval=1, draw_gt=True, show_dir='show'),
])
def test_hook_writes_detection_drawing(tmp_path, hook_cfg) -> None:
    hook = HOOKS.build(hook_cfg)
    vis = VISUALIZERS.build(dict(type='DetLocalVisualizer',
                                 name=f'det_hook_{tmp_path.name}_{next(_NAMES)}'))
    hook.after_test_iter(fake_runner(tmp_path, vis), 0, None, [detection_sample(tmp_path)])
    written = cv2.imread(str(tmp_path / 'work' / 'show' / 'img_0.png'))[..., ::-1]
    assert written.shape == (H, 2 * W, 3)
    assert is_colour(written[30, 10], PALETTE[0])  # gt box
    assert is_colour(written[30, W + 40], PALETTE[1])  # pred box
    assert np.abs(written[10, W + 5].astype(int) - GREY).max() <= 3  # 0.2 < score_thr (jpg)


def test_det_hook_makes_a_det_visualizer_and_logs_val_images(tmp_path) -> None:
    hook = DetVisualizationHook(draw=True, interval=1)
    assert hook.score_thr == 0.3
    seg_only = VISUALIZERS.build(dict(type='SegLocalVisualizer',
                                      name=f'seg_{tmp_path.name}_{next(_NAMES)}'))
    runner = fake_runner(tmp_path, seg_only)
    hook.after_val_iter(runner, 0, None, [detection_sample(tmp_path)])
    assert isinstance(hook._visualizer, DetLocalVisualizer)  # not the seg-only one
    assert hook._visualizer.dataset_meta['classes'] == CLASSES

    vis = visualizer(tmp_path, save_dir=str(tmp_path / 'vis'),
                     vis_backends=[dict(type='LocalVisBackend')])
    hook = DetVisualizationHook(draw=True, interval=1)
    hook.after_val_iter(fake_runner(tmp_path, vis), 0, None, [detection_sample(tmp_path)])
    logged = list((tmp_path / 'vis').rglob('val_img_0*.png'))
    assert len(logged) == 1 and '7' in logged[0].name
    assert cv2.imread(str(logged[0])).shape == (H, 2 * W, 3)


# ------------------------------------------------------------------------------- keypoints
def test_keypoints_and_skeleton_are_drawn_where_visible(tmp_path):
    vis = visualizer(tmp_path, line_width=1)
    vis.dataset_meta['skeleton'] = [[0, 1], [1, 2]]
    inst = instances([[5, 5, 75, 55]], [1], scores=[0.9])
    # Keypoint 2's score is below the threshold: neither it nor the limb 1-2 is drawn.
    inst.keypoints = torch.tensor([[[20., 30.], [60., 30.], [40., 50.]]])
    inst.keypoint_scores = torch.tensor([[5.0, 5.0, 1.0]])
    drawn = vis.draw_instances(grey_image(), inst)
    blue = np.array(PALETTE[1])
    assert (drawn[30, 20] == blue).all() and (drawn[30, 60] == blue).all()
    assert (drawn[30, 40] == blue).all()  # on the limb 0-1
    assert (drawn[50, 40] == GREY).all() and (drawn[40, 50] == GREY).all()
    # Ground truth: (N, K, 3) with v; the unlabelled keypoint (v = 0) is not drawn.
    gt = instances([[5, 5, 75, 55]], [1])
    gt.keypoints = torch.tensor([[[20., 30., 2.], [60., 30., 1.], [40., 50., 0.]]])
    drawn = vis.draw_instances(grey_image(), gt)
    assert (drawn[30, 20] == blue).all() and (drawn[50, 40] == GREY).all()


def test_overlay_keypoints_bad_input_is_named():
    with pytest.raises(ValueError, match='skeleton pair'):
        overlay_keypoints(grey_image(), np.zeros((1, 2, 2)), np.ones((1, 2), bool),
                          [(0, 0, 255)], skeleton=[[0, 5]])
    with pytest.raises(ValueError, match='do not match'):
        overlay_keypoints(grey_image(), np.zeros((1, 2, 2)), np.ones((1, 3), bool),
                          [(0, 0, 255)])
