"""Point sampling for PointRend, in pure PyTorch (mmcv ships ``point_sample`` only with its
compiled ops, which mmcv-lite lacks).

Points are (x, y) pairs in normalised image coordinates: (0, 0) is the top-left corner of the
top-left pixel and (1, 1) the bottom-right corner of the bottom-right pixel, as in mmcv and
detectron2. Sampling is bilinear ``F.grid_sample``; with ``align_corners=False`` the point
``((j + 0.5) / W, (i + 0.5) / H)`` reads pixel (i, j) exactly.

- :func:`point_sample`: features at points;
- :func:`calculate_uncertainty`: the uncertainty of logits (second minus first top logit);
- :func:`get_uncertain_point_coords_with_randomness`: training points, the most uncertain of
  an oversampled random set plus uniformly random ones;
- :func:`get_uncertain_point_coords_on_grid`: inference points, the most uncertain cells of a
  grid.

All of them work on a whole batch at once (``topk`` and ``gather``, no loop over points).
"""
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from segdet.utils.autocast_state import autocast_state


def point_sample(input: Tensor, points: Tensor, align_corners: bool = False,
                 **kwargs) -> Tensor:
    """Sample ``input`` at normalised points (mmcv's ``point_sample``).

    Args:
        input: (N, C, H, W) features.
        points: (N, P, 2) or (N, Hp, Wp, 2) (x, y) coordinates in [0, 1] x [0, 1].
        align_corners: ``align_corners`` of ``F.grid_sample``.
        **kwargs: Further ``F.grid_sample`` arguments (``mode='nearest'``, ``padding_mode``).

    Returns:
        (N, C, P) for (N, P, 2) points, else (N, C, Hp, Wp); the dtype of ``input``.
    """
    if input.dim() != 4:
        raise ValueError(f'point_sample: input must be (N, C, H, W), got shape '
                         f'{tuple(input.shape)}')
    if points.dim() not in (3, 4) or points.shape[-1] != 2 or points.shape[0] != input.shape[0]:
        raise ValueError(f'point_sample: points must be (N, P, 2) or (N, H, W, 2) with '
                         f'N={input.shape[0]}, got shape {tuple(points.shape)}')
    flat = points.dim() == 3
    grid = (points.unsqueeze(2) if flat else points) * 2.0 - 1.0  # grid_sample reads [-1, 1]
    # Autocast runs grid_sample in float32 (keep the coordinates' precision); without it the
    # dtypes must match.
    if grid.dtype != input.dtype and not autocast_state(input.device.type)[0]:
        grid = grid.to(input.dtype)
    out = F.grid_sample(input, grid, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if flat else out


def calculate_uncertainty(seg_logits: Tensor) -> Tensor:
    """Uncertainty of logits: second-largest minus largest logit (0 is the most uncertain).

    Args:
        seg_logits: (N, C, ...) logits with C >= 2 (e.g. (N, C, H, W) or (N, C, P)).

    Returns:
        (N, 1, ...) scores, <= 0, highest where the two top classes are closest.
    """
    if seg_logits.dim() < 2 or seg_logits.shape[1] < 2:
        raise ValueError('calculate_uncertainty: seg_logits must be (N, C, ...) with C >= 2 '
                         f'classes, got shape {tuple(seg_logits.shape)}')
    top2 = seg_logits.topk(2, dim=1).values
    return (top2[:, 1] - top2[:, 0]).unsqueeze(1)


def get_uncertain_point_coords_with_randomness(
        seg_logits: Tensor,
        uncertainty_func: Callable[[Tensor], Tensor],
        num_points: int,
        oversample_ratio: float,
        importance_sample_ratio: float,
        generator: Optional[torch.Generator] = None) -> Tensor:
    """Training points: uncertain points of a random oversampled set, plus random points.

    ``int(num_points * oversample_ratio)`` points are drawn uniformly; the logits are sampled
    there and the ``int(importance_sample_ratio * num_points)`` points of highest uncertainty
    are kept (uncertainty of the *sampled* logits: the uncertainty of interpolated logits, not
    interpolated uncertainties); the rest of the ``num_points`` are drawn uniformly again.

    Args:
        seg_logits: (N, C, H, W) coarse logits.
        uncertainty_func: (N, C, P) logits -> (N, 1, P) scores, higher is more uncertain.
        num_points: Points per image, >= 1.
        oversample_ratio: >= 1; points drawn before choosing the uncertain ones, per point.
        importance_sample_ratio: In [0, 1]; share of uncertainty-chosen points.
        generator: Optional random generator (tests).

    Returns:
        (N, num_points, 2) float (x, y) coordinates in [0, 1], uncertain points first.
    """
    if isinstance(num_points, bool) or not isinstance(num_points, int):
        raise TypeError(f'get_uncertain_point_coords_with_randomness: num_points must be an '
                        f'int, got {type(num_points).__name__} {num_points!r}')
    if num_points < 1:
        raise ValueError(f'get_uncertain_point_coords_with_randomness: num_points must be '
                         f'>= 1, got {num_points}')
    if not oversample_ratio >= 1:
        raise ValueError(f'get_uncertain_point_coords_with_randomness: oversample_ratio must '
                         f'be >= 1, got {oversample_ratio}')
    if not 0 <= importance_sample_ratio <= 1:
        raise ValueError(f'get_uncertain_point_coords_with_randomness: importance_sample_ratio '
                         f'must be in [0, 1], got {importance_sample_ratio}')
    batch_size = seg_logits.shape[0]
    num_sampled = int(num_points * oversample_ratio)
    num_uncertain = int(importance_sample_ratio * num_points)
    device = seg_logits.device
    coords = torch.rand(batch_size, num_sampled, 2, device=device, generator=generator)
    uncertainty = uncertainty_func(point_sample(seg_logits.float(), coords))  # (N, 1, S)
    idx = uncertainty[:, 0].topk(num_uncertain, dim=1).indices              # (N, k)
    coords = coords.gather(1, idx.unsqueeze(-1).expand(-1, -1, 2))
    num_random = num_points - num_uncertain
    if num_random > 0:
        coords = torch.cat([
            coords, torch.rand(batch_size, num_random, 2, device=device, generator=generator)
        ], dim=1)
    return coords


def get_uncertain_point_coords_on_grid(uncertainty_map: Tensor,
                                       num_points: int) -> tuple[Tensor, Tensor]:
    """Inference points: the ``num_points`` most uncertain cells of a grid.

    Args:
        uncertainty_map: (N, 1, H, W) scores, higher is more uncertain.
        num_points: Cells to choose per image, 1 <= num_points <= H * W.

    Returns:
        ``(point_indices, point_coords)``: (N, num_points) int64 flat indices into H * W
        (row-major) and (N, num_points, 2) float (x, y) coordinates of the cell centres in
        [0, 1].

    Raises:
        ValueError: ``num_points`` is larger than the H * W cells (or < 1).
    """
    if uncertainty_map.dim() != 4 or uncertainty_map.shape[1] != 1:
        raise ValueError('get_uncertain_point_coords_on_grid: uncertainty_map must be '
                         f'(N, 1, H, W), got shape {tuple(uncertainty_map.shape)}')
    batch_size, _, height, width = uncertainty_map.shape
    if not 1 <= num_points <= height * width:
        raise ValueError(f'get_uncertain_point_coords_on_grid: num_points={num_points} must be '
                         f'between 1 and the {height * width} points of the {height}x{width} '
                         'uncertainty map')
    point_indices = uncertainty_map.view(batch_size, height * width).topk(
        num_points, dim=1).indices
    xs = ((point_indices % width).float() + 0.5) / width
    ys = (torch.div(point_indices, width, rounding_mode='floor').float() + 0.5) / height
    return point_indices, torch.stack([xs, ys], dim=-1)
