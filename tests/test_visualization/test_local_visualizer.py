"""LocalVisualizer: one sample holding a label map and instances on both sides; the registered
names of mmseg's and mmdet's visualizers build it and draw the same pixels."""
import itertools

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from segdet.registry import VISUALIZERS
from segdet.structures import DataSample
from segdet.visualization import DetLocalVisualizer, LocalVisualizer, SegLocalVisualizer

CLASSES = ('cat', 'dog')
PALETTE = [(255, 0, 0), (0, 0, 255)]  # RGB
GREY = 100
H, W = 60, 80
NAMES = ['LocalVisualizer', 'SegLocalVisualizer', 'DetLocalVisualizer']
_IDS = itertools.count()


def build(type_name: str, **kwargs) -> LocalVisualizer:
    # mmengine keeps visualizers by name: one name per instance.
    vis = VISUALIZERS.build(dict(type=type_name, name=f'local_vis_{next(_IDS)}', **kwargs))
    vis.dataset_meta = dict(classes=CLASSES, palette=PALETTE)
    return vis


def instances(bboxes, labels, scores=None) -> InstanceData:
    inst = InstanceData()
    inst.bboxes = torch.tensor(bboxes, dtype=torch.float32).reshape(-1, 4)
    inst.labels = torch.tensor(labels, dtype=torch.long)
    if scores is not None:
        inst.scores = torch.tensor(scores, dtype=torch.float32)
    return inst


def label_map(label: int) -> PixelData:
    """(1, H, W): unlabeled (255) left of column 60, ``label`` from there on."""
    data = torch.full((1, H, W), 255, dtype=torch.long)
    data[0, :, 60:] = label
    return PixelData(data=data)


def both_kinds() -> DataSample:
    s = DataSample()
    s.gt_sem_seg = label_map(0)
    s.pred_sem_seg = label_map(1)
    s.gt_instances = instances([[10, 20, 30, 40]], [1])
    # A confident cat and a 0.1 dog (below the default score_thr 0.3).
    s.pred_instances = instances([[10, 20, 30, 40], [40, 45, 55, 58]], [0, 1],
                                 scores=[0.9, 0.1])
    return s


def test_sem_seg_and_instances_on_both_panels() -> None:
    vis = build('LocalVisualizer', alpha=1.0)
    drawn = vis.add_datasample('x', np.full((H, W, 3), GREY, np.uint8), both_kinds())
    assert drawn.shape == (H, 2 * W, 3)
    gt, pred = drawn[:, :W], drawn[:, W:]
    assert (gt[:, 62:] == PALETTE[0]).all() and (pred[:, 62:] == PALETTE[1]).all()  # maps
    assert (gt[30, 10] == PALETTE[1]).all()  # the gt dog's box outline
    assert (pred[30, 10] == PALETTE[0]).all()  # the predicted cat's box outline
    assert (gt[30, 15:25] == GREY).all() and (pred[30, 15:25] == GREY).all()  # box insides
    assert (pred[44:, 38:57] == GREY).all()  # the 0.1 dog is not drawn
    assert (gt[44:, :58] == GREY).all()


@pytest.mark.parametrize('type_name', NAMES)
def test_registered_names_build_the_one_class(type_name: str) -> None:
    vis = build(type_name)
    assert type(vis) is LocalVisualizer
    assert (vis.alpha, vis.score_thr, vis.line_width) == (0.5, 0.3, 2)
    assert SegLocalVisualizer is LocalVisualizer and DetLocalVisualizer is LocalVisualizer


def test_registered_names_draw_the_same_pixels() -> None:
    image = np.full((H, W, 3), GREY, np.uint8)
    seg_only = DataSample(gt_sem_seg=label_map(0), pred_sem_seg=label_map(1))
    for sample in (both_kinds(), seg_only):
        drawn = [build(name).add_datasample('x', image, sample) for name in NAMES]
        assert all(np.array_equal(drawn[0], d) for d in drawn[1:])
    # The seg-only sample: the label maps blended at alpha 0.5, nothing else.
    gt = drawn[0][:, :W]
    expected = np.round(0.5 * GREY + 0.5 * np.asarray(PALETTE[0])).astype(np.uint8)
    assert (gt[:, 60:] == expected).all() and (gt[:, :60] == GREY).all()
