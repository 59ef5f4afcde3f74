"""AnchorGenerator and DeltaXYWHBBoxCoder: values and ordering as mmdetection defines them."""
import math

import pytest
import torch
from mmengine.registry import init_default_scope

from segdet.registry import TASK_UTILS


@pytest.fixture(autouse=True)
def scope():
    init_default_scope('segdet')


def test_base_anchors_of_faster_rcnn_rpn() -> None:
    gen = TASK_UTILS.build(dict(type='AnchorGenerator', scales=[8], ratios=[0.5, 1.0, 2.0],
                                strides=[4, 8, 16, 32, 64]))
    assert gen.num_base_priors == [3] * 5
    r = math.sqrt(0.5)
    # stride 4, scale 8: side 32; ratio 0.5 -> w = 32 / sqrt(.5), h = 32 * sqrt(.5)
    expected = torch.tensor([[-16 / r, -16 * r, 16 / r, 16 * r],
                             [-16., -16., 16., 16.],
                             [-16 * r, -16 / r, 16 * r, 16 / r]])
    torch.testing.assert_close(gen.base_anchors[0], expected)
    torch.testing.assert_close(gen.base_anchors[4], expected * 16)  # stride 64


def test_grid_ordering_cells_then_base_anchors() -> None:
    gen = TASK_UTILS.build(dict(type='AnchorGenerator', scales=[1, 2], ratios=[1.0],
                                strides=[10]))
    anchors = gen.grid_priors([(2, 3)])[0]
    assert anchors.shape == (2 * 3 * 2, 4)
    # cell (y=0, x=1): shift (10, 0); its two anchors (scales 1, 2) are consecutive
    torch.testing.assert_close(anchors[2], torch.tensor([5., -5., 15., 5.]))
    torch.testing.assert_close(anchors[3], torch.tensor([0., -10., 20., 10.]))
    # cell (y=1, x=0) comes after the whole first row
    torch.testing.assert_close(anchors[6], torch.tensor([-5., 5., 5., 15.]))


def test_octave_scales_offset_and_valid_flags() -> None:
    gen = TASK_UTILS.build(dict(type='AnchorGenerator', octave_base_scale=4,
                                scales_per_octave=3, ratios=[1.0], strides=[8],
                                center_offset=0.5))
    sides = gen.base_anchors[0][:, 2] - gen.base_anchors[0][:, 0]
    torch.testing.assert_close(sides, 8 * 4 * torch.tensor([1, 2**(1 / 3), 2**(2 / 3)]))
    torch.testing.assert_close(gen.base_anchors[0][:, :2].mean(0) + sides.mean() / 2,
                               torch.tensor([4., 4.]))  # centred at half a stride
    flags = gen.valid_flags([(4, 5)], pad_shape=(20, 24))[0]  # ceil(20/8)=3 rows, 3 cols
    cells = flags.reshape(4, 5, 3)[..., 0]
    assert cells[:3, :3].all() and not cells[3].any() and not cells[:, 3:].any()
    with pytest.raises(ValueError, match='either scales'):
        TASK_UTILS.build(dict(type='AnchorGenerator', ratios=[1.0], strides=[8]))


def test_coder_round_trip_and_clip() -> None:
    coder = TASK_UTILS.build(dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                                  target_stds=[0.1, 0.1, 0.2, 0.2]))
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(20, 2, generator=g) * 50
    boxes = torch.cat([xy, xy + 1 + torch.rand(20, 2, generator=g) * 30], dim=1)
    gt = boxes + torch.randn(20, 4, generator=g)
    gt[:, 2:] = torch.max(gt[:, 2:], gt[:, :2] + 1)
    deltas = coder.encode(boxes, gt)
    torch.testing.assert_close(coder.decode(boxes, deltas), gt, atol=1e-4, rtol=1e-4)
    clipped = coder.decode(boxes, deltas, max_shape=(40, 40))
    assert clipped.min() >= 0 and clipped.max() <= 40
    with pytest.raises(ValueError, match='rows of deltas'):
        coder.decode(boxes, deltas[:3])
