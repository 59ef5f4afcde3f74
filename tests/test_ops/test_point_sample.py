"""segdet.ops point sampling (PointRend): point_sample is grid_sample at [0, 1] points,
hand-computed bilinear values, the uncertainty, and the training / inference point choices."""
import pytest
import torch
import torch.nn.functional as F

from segdet.ops import (calculate_uncertainty, get_uncertain_point_coords_on_grid,
                        get_uncertain_point_coords_with_randomness, point_sample)


@pytest.mark.parametrize('align_corners', [False, True])
def test_point_sample_equals_grid_sample_at_the_points(align_corners):
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 3, 5, 7, generator=g)
    points = torch.rand(2, 11, 2, generator=g)
    out = point_sample(feats, points, align_corners=align_corners)
    assert out.shape == (2, 3, 11)
    expected = F.grid_sample(feats, (2 * points - 1).unsqueeze(2),
                             align_corners=align_corners)[..., 0]
    torch.testing.assert_close(out, expected)
    # (N, H, W, 2) points keep their grid shape
    grid = points.view(2, 11, 1, 2).expand(2, 11, 4, 2)
    out4 = point_sample(feats, grid, align_corners=align_corners)
    assert out4.shape == (2, 3, 11, 4)
    torch.testing.assert_close(out4[..., 2], out)


def test_point_sample_hand_computed_bilinear_values():
    # pixel (i, j) of a 2x2 map has its centre at ((j + 0.5) / 2, (i + 0.5) / 2)
    feats = torch.tensor([[[[1., 2.], [3., 4.]]]])
    points = torch.tensor([[[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75],
                            [0.5, 0.5], [0.5, 0.25], [0.375, 0.75], [0.0, 0.0]]])
    # centres read the pixels; (0.5, 0.5) is the mean; (0.5, 0.25) halfway between 1 and 2;
    # (0.375, 0.75) is a quarter of the way from 3 to 4; the corner (0, 0) lies half a pixel
    # outside every centre: bilinear with zero padding gives 1/4 of pixel (0, 0).
    expected = torch.tensor([[[1., 2., 3., 4., 2.5, 1.5, 3.25, 0.25]]])
    torch.testing.assert_close(point_sample(feats, points), expected)
    # nearest: the pixel that contains the point
    nearest = point_sample(feats, torch.tensor([[[0.1, 0.9], [0.9, 0.4]]]), mode='nearest')
    torch.testing.assert_close(nearest, torch.tensor([[[3., 2.]]]))


def test_point_sample_bad_shapes():
    with pytest.raises(ValueError, match='points'):
        point_sample(torch.zeros(2, 1, 4, 4), torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match='input'):
        point_sample(torch.zeros(1, 4, 4), torch.zeros(1, 5, 2))


def test_calculate_uncertainty_is_second_minus_first_logit():
    logits = torch.tensor([[[3., 0.], [1., 0.5], [2., 0.4]]])  # (1, 3 classes, 2 points)
    torch.testing.assert_close(calculate_uncertainty(logits), torch.tensor([[[-1., -0.1]]]))
    assert calculate_uncertainty(torch.randn(2, 4, 3, 5)).shape == (2, 1, 3, 5)
    with pytest.raises(ValueError, match='C >= 2'):
        calculate_uncertainty(torch.zeros(1, 1, 4))


def test_points_on_grid_are_the_most_uncertain_cell_centres():
    unc = torch.tensor([[[[0., 5., 1.], [4., 2., 3.]]],
                        [[[9., 0., 0.], [0., 0., 8.]]]])  # (2, 1, 2, 3)
    idx, coords = get_uncertain_point_coords_on_grid(unc, 2)
    assert idx.tolist() == [[1, 3], [0, 5]]
    torch.testing.assert_close(coords, torch.tensor([
        [[1.5 / 3, 0.25], [0.5 / 3, 0.75]], [[0.5 / 3, 0.25], [2.5 / 3, 0.75]]]))
    # the centres read back the values they were chosen for
    torch.testing.assert_close(point_sample(unc, coords)[:, 0], torch.tensor([[5., 4.],
                                                                              [9., 8.]]))


def test_points_on_grid_num_points_larger_than_the_grid():
    with pytest.raises(ValueError, match=r'num_points=7 .* 6 points'):
        get_uncertain_point_coords_on_grid(torch.zeros(1, 1, 2, 3), 7)
    idx, _ = get_uncertain_point_coords_on_grid(torch.zeros(1, 1, 2, 3), 6)
    assert sorted(idx[0].tolist()) == list(range(6))


def test_training_points_split_into_uncertain_and_random():
    logits = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    kwargs = dict(uncertainty_func=calculate_uncertainty, num_points=10, oversample_ratio=3,
                  importance_sample_ratio=0.7)
    coords = get_uncertain_point_coords_with_randomness(
        logits, generator=torch.Generator().manual_seed(1), **kwargs)
    assert coords.shape == (2, 10, 2) and 0 <= coords.min() and coords.max() <= 1
    # replay the generator: 30 drawn points, the 7 most uncertain kept, then 3 random ones
    g = torch.Generator().manual_seed(1)
    drawn = torch.rand(2, 30, 2, generator=g)
    unc = calculate_uncertainty(point_sample(logits, drawn))[:, 0]
    for b in range(2):
        top = unc[b].topk(7).indices
        torch.testing.assert_close(coords[b, :7], drawn[b, top])
    torch.testing.assert_close(coords[:, 7:], torch.rand(2, 3, 2, generator=g))


def test_training_points_follow_each_image_uncertainty():
    # image 0 is uncertain (equal logits) in its left half, image 1 in its right half
    logits = torch.zeros(2, 2, 8, 8)
    logits[0, 0, :, 4:], logits[1, 0, :, :4] = 10., 10.
    coords = get_uncertain_point_coords_with_randomness(
        logits, calculate_uncertainty, 8, 8, 1.0, generator=torch.Generator().manual_seed(0))
    assert (coords[0, :, 0] < 0.5).all() and (coords[1, :, 0] > 0.5).all()


def test_training_points_bad_ratios():
    logits = torch.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match='oversample_ratio'):
        get_uncertain_point_coords_with_randomness(logits, calculate_uncertainty, 4, 0.5, 0.5)
    with pytest.raises(ValueError, match='importance_sample_ratio'):
        get_uncertain_point_coords_with_randomness(logits, calculate_uncertainty, 4, 2, 1.5)
    with pytest.raises(ValueError, match='num_points'):
        get_uncertain_point_coords_with_randomness(logits, calculate_uncertainty, 0, 2, 0.5)
    with pytest.raises(TypeError, match='num_points'):
        get_uncertain_point_coords_with_randomness(logits, calculate_uncertainty, 4.0, 2, 0.5)


def test_point_sample_keeps_float32_coordinates_under_autocast():
    # bfloat16 has 8 mantissa bits: coordinates rounded to it would miss pixels of a wide map
    width = 1024
    feats = (torch.arange(width) % 2).float().view(1, 1, 1, width).bfloat16()
    xs = (torch.arange(width).float() + 0.5) / width
    points = torch.stack([xs, torch.full_like(xs, 0.5)], dim=-1)[None]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = point_sample(feats, points)
    torch.testing.assert_close(out.float(), feats.float().view(1, 1, width))
