"""Box math against hand-computed values."""
import math

import pytest
import torch

from segdet.structures.bbox import bbox_overlaps, bbox_to_delta, delta_to_bbox


def test_overlaps_hand_computed() -> None:
    a = torch.tensor([[0., 0., 10., 10.], [5., 5., 15., 15.]])
    b = torch.tensor([[0., 0., 10., 10.], [10., 10., 20., 20.], [0., 0., 5., 5.]])
    iou = bbox_overlaps(a, b)
    expected = torch.tensor([[1.0, 0.0, 25 / 100], [25 / 175, 25 / 175, 0.0]])
    torch.testing.assert_close(iou, expected)
    iof = bbox_overlaps(a, b, mode='iof')
    torch.testing.assert_close(iof, torch.tensor([[1.0, 0.0, 0.25], [0.25, 0.25, 0.0]]))
    aligned = bbox_overlaps(a, b[:2], is_aligned=True)
    torch.testing.assert_close(aligned, torch.tensor([1.0, 25 / 175]))
    # empty boxes: 0, not NaN
    empty = torch.zeros(1, 4)
    assert bbox_overlaps(empty, empty).item() == 0.0
    assert bbox_overlaps(torch.zeros(0, 4), b).shape == (0, 3)
    # 'giou' is supported since issue 19 (tested below); other modes are refused
    with pytest.raises(ValueError, match="'iou', 'iof' or 'giou'"):
        bbox_overlaps(a, b, mode='diou')


def test_delta_hand_computed_and_round_trip() -> None:
    proposal = torch.tensor([[0., 0., 10., 20.]])      # centre (5, 10), 10 x 20
    gt = torch.tensor([[5., 10., 25., 30.]])           # centre (15, 20), 20 x 20
    deltas = bbox_to_delta(proposal, gt)
    torch.testing.assert_close(deltas, torch.tensor([[1.0, 0.5, math.log(2), 0.0]]))
    stds = (0.1, 0.1, 0.2, 0.2)
    normalised = bbox_to_delta(proposal, gt, stds=stds)
    torch.testing.assert_close(normalised, deltas / torch.tensor(stds))
    torch.testing.assert_close(delta_to_bbox(proposal, normalised, stds=stds), gt)


def test_decode_clips_and_clamps() -> None:
    roi = torch.tensor([[10., 10., 20., 20.]])
    out = delta_to_bbox(roi, torch.tensor([[0., 0., 100., 0.]]), max_shape=(30, 40))
    # dw clamped to |log(16/1000)|: width 10 * 62.5 = 625 around x = 15, clipped to [0, 40]
    torch.testing.assert_close(out, torch.tensor([[0., 10., 40., 20.]]))
    unclipped = delta_to_bbox(roi, torch.tensor([[0., 0., 100., 0.]]), max_shape=(30, 40),
                              clip_border=False)
    torch.testing.assert_close(unclipped[0, 2] - unclipped[0, 0], torch.tensor(625.0))
    shifted = delta_to_bbox(roi, torch.tensor([[10., 0., 0., 0.]]), add_ctr_clamp=True,
                            ctr_clamp=32)
    torch.testing.assert_close(shifted, torch.tensor([[42., 10., 52., 20.]]))  # 100 px -> 32
    per_class = delta_to_bbox(roi, torch.zeros(1, 8))
    assert per_class.shape == (1, 8) and torch.equal(per_class[:, 4:], roi)
