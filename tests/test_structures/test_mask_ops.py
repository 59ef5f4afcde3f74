"""Mask targets (RoIAlign crops) and mask pasting on hand-made shapes; RoI bookkeeping."""
import torch
from torchvision.models.detection.roi_heads import paste_masks_in_image as tv_paste
from torchvision.ops import roi_align as tv_roi_align

from segdet.structures.bbox import bbox2roi, clip_boxes, roi_counts, scale_boxes
from segdet.structures.mask import (crop_and_resize_masks, paste_mask, paste_masks_detectron,
                                    paste_masks_in_image)


def test_bbox2roi_prefixes_the_image_index():
    rois = bbox2roi([torch.tensor([[0., 0, 2, 2]]), torch.zeros((0, 4)),
                     torch.tensor([[1., 1, 3, 3], [2, 2, 4, 5]])])
    assert rois.tolist() == [[0, 0, 0, 2, 2], [2, 1, 1, 3, 3], [2, 2, 2, 4, 5]]
    assert roi_counts(rois, 3) == [1, 0, 2]


def test_scale_and_clip_boxes():
    boxes = torch.tensor([[-5., 2, 30, 50]])
    assert scale_boxes(boxes, (2.0, 0.5)).tolist() == [[-10, 1, 60, 25]]
    assert clip_boxes(boxes, (40, 20)).tolist() == [[0, 2, 20, 40]]


def test_mask_target_of_a_box_on_a_filled_square_is_all_ones_and_half_outside_half():
    masks = torch.zeros((2, 40, 40), dtype=torch.uint8)
    masks[0, 10:30, 10:30] = 1
    masks[1, 0:40, 20:40] = 1  # right half
    boxes = torch.tensor([[12., 12, 28, 28], [0, 0, 40, 40]])
    targets = crop_and_resize_masks(masks, boxes, torch.tensor([0, 1]), 8)
    assert targets.shape == (2, 8, 8)
    assert bool((targets[0] == 1).all())
    assert targets[1, :, :4].sum() == 0 and bool((targets[1, :, 4:] == 1).all())


def test_mask_targets_equal_torchvision_roi_align_thresholded():
    g = torch.Generator().manual_seed(0)
    masks = (torch.rand((3, 30, 50), generator=g) > 0.5).to(torch.uint8)
    boxes = torch.tensor([[3., 4, 20, 25], [10, 0, 49, 29], [0.5, 0.5, 7.5, 9.0]])
    inds = torch.tensor([2, 0, 1])
    expected = tv_roi_align(masks[:, None].float(), torch.cat([inds[:, None].float(), boxes], 1),
                            (6, 6), 1.0, 0, True)[:, 0] >= 0.5
    assert torch.equal(crop_and_resize_masks(masks, boxes, inds, 6), expected.float())


def test_pasting_an_all_ones_mask_fills_exactly_the_pixels_whose_centres_are_in_the_box():
    mask = torch.ones((28, 28))
    out = paste_masks_in_image(mask[None], torch.tensor([[10., 5, 20, 25]]), 40, 30)
    expected = torch.zeros((40, 30), dtype=torch.bool)
    expected[5:25, 10:20] = True
    assert out.shape == (1, 40, 30) and torch.equal(out[0], expected)


def test_pasting_keeps_left_right_structure_and_clips_to_the_image():
    mask = torch.zeros((4, 4))
    mask[:, 2:] = 1.0
    out = paste_masks_in_image(mask[None], torch.tensor([[20., 0, 36, 8]]), 8, 30)[0]
    # right half of the box (x >= 28) is on, clipped at the image border (x < 30)
    assert bool(out[:, 29].all()) and not bool(out[:, 20:27].any())
    values, region = paste_mask(mask, torch.tensor([20., 0, 36, 8]), 8, 30)
    assert region == (0, 8, 19, 30) and values.shape == (8, 11)


def test_pasting_no_masks_gives_an_empty_stack():
    assert paste_masks_in_image(torch.zeros((0, 28, 28)), torch.zeros((0, 4)), 5, 6).shape == (
        0, 5, 6)


def test_boxes_to_original_divides_by_the_scale_factor():
    from segdet.structures.bbox import boxes_to_original
    boxes = torch.tensor([[10., 20, 30, 40, 2, 4, 6, 8]])
    assert boxes_to_original(boxes, dict(scale_factor=(2.0, 4.0))).tolist() == [
        [5, 5, 15, 10, 1, 1, 3, 2]]
    assert boxes_to_original(torch.zeros((0, 4)), dict(scale_factor=(2.0, 2.0))).shape == (0, 4)
    assert torch.equal(boxes_to_original(boxes, {}), boxes)


def test_paste_masks_detectron_equals_torchvision_pasting():
    gen = torch.Generator().manual_seed(0)
    masks = torch.rand((6, 28, 28), generator=gen)
    boxes = torch.tensor([[10.3, 5.7, 40.2, 30.9], [0., 0., 3.5, 2.2], [-5., 20., 30., 70.],
                          [50., 40., 79.9, 59.9], [12.5, 12.5, 13., 13.], [70., 50., 95., 75.]])
    expected = tv_paste(masks[:, None], boxes, (60, 80), padding=1)[:, 0]
    assert torch.equal(paste_masks_detectron(masks, boxes, 60, 80, threshold=-1), expected)
    assert torch.equal(paste_masks_detectron(masks, boxes, 60, 80), expected > 0.5)
    assert paste_masks_detectron(masks[:0], boxes[:0], 6, 8).shape == (0, 6, 8)
    # mmdetection's pasting differs at the mask borders only
    mmdet = paste_masks_in_image(masks, boxes, 60, 80)
    assert (mmdet != (expected > 0.5)).any()
