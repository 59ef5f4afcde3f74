"""Anchors on feature-map grids (mmdetection's AnchorGenerator conventions and ordering)."""
import math
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from segdet.registry import TASK_UTILS

Stride = Union[int, Sequence[int]]


def base_anchors(base_size: float, scales: Tensor, ratios: Tensor, scale_major: bool = True,
                 center: Optional[Sequence[float]] = None, center_offset: float = 0.0
                 ) -> Tensor:
    """The anchors of one grid cell, centred at ``center`` (default: offset x base size).

    For ratio r (= h / w) and scale s: w = base_size * s / sqrt(r), h = base_size * s * sqrt(r).
    Ordering: ratio-major over scales when ``scale_major`` (all scales of ratio 0 first),
    else scale-major over ratios.

    Returns:
        (len(ratios) * len(scales), 4) boxes (x1, y1, x2, y2).
    """
    if center is None:
        cx = cy = center_offset * base_size
    else:
        cx, cy = center
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    if scale_major:
        ws = (base_size * w_ratios[:, None] * scales[None, :]).reshape(-1)
        hs = (base_size * h_ratios[:, None] * scales[None, :]).reshape(-1)
    else:
        ws = (base_size * scales[:, None] * w_ratios[None, :]).reshape(-1)
        hs = (base_size * scales[:, None] * h_ratios[None, :]).reshape(-1)
    return torch.stack([cx - 0.5 * ws, cy - 0.5 * hs, cx + 0.5 * ws, cy + 0.5 * hs], dim=-1)


def grid_anchors(base: Tensor, featmap_size: Sequence[int], stride: Sequence[int]) -> Tensor:
    """``base`` anchors shifted to every cell of an (H, W) grid with (stride_w, stride_h).

    Returns:
        (H * W * A, 4): row-major over cells (y, then x), the A base anchors of each cell
        consecutive, as mmdetection orders them (so head outputs and checkpoints agree).
    """
    feat_h, feat_w = int(featmap_size[0]), int(featmap_size[1])
    shift_x = torch.arange(feat_w, device=base.device, dtype=base.dtype) * stride[0]
    shift_y = torch.arange(feat_h, device=base.device, dtype=base.dtype) * stride[1]
    yy, xx = torch.meshgrid(shift_y, shift_x, indexing='ij')
    shifts = torch.stack([xx.reshape(-1), yy.reshape(-1), xx.reshape(-1), yy.reshape(-1)], -1)
    return (base[None, :, :] + shifts[:, None, :]).reshape(-1, 4)


@TASK_UTILS.register_module()
class AnchorGenerator:
    """Anchors for each level of a feature pyramid.

    Args:
        strides: One stride per level, an int or (stride_w, stride_h).
        ratios: Height/width ratios.
        scales: Anchor scales (relative to the base size); or give ``octave_base_scale`` and
            ``scales_per_octave`` (scales 2**(i / n) * octave_base_scale).
        base_sizes: Base size per level; default the level's (smaller) stride.
        scale_major: Ordering of the base anchors (see :func:`base_anchors`).
        centers: Explicit centre per level; default ``center_offset`` x base size.
        center_offset: Offset of the default centre, in base sizes.
    """

    def __init__(self, strides: Sequence[Stride], ratios: Sequence[float],
                 scales: Optional[Sequence[float]] = None,
                 base_sizes: Optional[Sequence[float]] = None, scale_major: bool = True,
                 octave_base_scale: Optional[float] = None,
                 scales_per_octave: Optional[int] = None,
                 centers: Optional[Sequence[Sequence[float]]] = None,
                 center_offset: float = 0.0, use_box_type: bool = False) -> None:
        if use_box_type:
            raise NotImplementedError('AnchorGenerator: use_box_type=True is not supported')
        if not 0 <= center_offset <= 1:
            raise ValueError(f'AnchorGenerator: center_offset must be in [0, 1], got '
                             f'{center_offset}')
        if centers is not None and len(centers) != len(strides):
            raise ValueError(f'AnchorGenerator: {len(centers)} centers for {len(strides)} '
                             'strides')
        self.strides = [(s, s) if isinstance(s, (int, float)) else tuple(s) for s in strides]
        self.base_sizes = list(base_sizes) if base_sizes is not None else [
            min(s) for s in self.strides]
        if len(self.base_sizes) != len(self.strides):
            raise ValueError(f'AnchorGenerator: {len(self.base_sizes)} base_sizes for '
                             f'{len(self.strides)} strides')
        if (scales is None) == (octave_base_scale is None or scales_per_octave is None):
            raise ValueError('AnchorGenerator: give either scales, or octave_base_scale and '
                             'scales_per_octave')
        if scales is None:
            scales = [2**(i / scales_per_octave) * octave_base_scale
                      for i in range(scales_per_octave)]
        self.scales = torch.tensor(scales, dtype=torch.float32)
        self.ratios = torch.tensor(ratios, dtype=torch.float32)
        self.scale_major = scale_major
        self.centers = centers
        self.center_offset = center_offset
        self.base_anchors = [
            base_anchors(size, self.scales, self.ratios, scale_major,
                         None if centers is None else centers[i], center_offset)
            for i, size in enumerate(self.base_sizes)]

    @property
    def num_levels(self) -> int:
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        """Anchors per grid cell, per level."""
        return [b.shape[0] for b in self.base_anchors]

    @property
    def num_base_anchors(self) -> list[int]:
        """mmdetection's older name of :attr:`num_base_priors`."""
        return self.num_base_priors

    def single_level_grid_priors(self, featmap_size: Sequence[int], level_idx: int,
                                 dtype: torch.dtype = torch.float32,
                                 device: Union[str, torch.device] = 'cpu') -> Tensor:
        """Anchors of one level: (H * W * A, 4), ordered as :func:`grid_anchors`."""
        return grid_anchors(self.base_anchors[level_idx].to(device=device, dtype=dtype),
                            featmap_size, self.strides[level_idx])

    def grid_priors(self, featmap_sizes: Sequence[Sequence[int]],
                    dtype: torch.dtype = torch.float32,
                    device: Union[str, torch.device] = 'cpu') -> list[Tensor]:
        """Anchors of every level: a list of (H_i * W_i * A_i, 4) tensors."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'AnchorGenerator: {len(featmap_sizes)} feature maps for '
                             f'{self.num_levels} levels')
        return [self.single_level_grid_priors(featmap_sizes[i], i, dtype, device)
                for i in range(self.num_levels)]

    def grid_anchors(self, featmap_sizes: Sequence[Sequence[int]],
                     device: Union[str, torch.device] = 'cpu') -> list[Tensor]:
        """mmdetection's older name of :meth:`grid_priors` (float32 anchors)."""
        return self.grid_priors(featmap_sizes, device=device)

    def sparse_priors(self, prior_idxs: Tensor, featmap_size: Sequence[int], level_idx: int,
                      dtype: torch.dtype = torch.float32,
                      device: Union[str, torch.device] = 'cpu') -> Tensor:
        """The anchors at some indices of one level's grid, without building the grid.

        Args:
            prior_idxs: (K,) indices into :meth:`single_level_grid_priors`' rows.
            featmap_size: (H, W) of the level.
            level_idx: The level.

        Returns:
            (K, 4) anchors, equal to ``single_level_grid_priors(...)[prior_idxs]``.
        """
        height, width = int(featmap_size[0]), int(featmap_size[1])
        num_base = self.num_base_priors[level_idx]
        stride_w, stride_h = self.strides[level_idx]
        cell = prior_idxs // num_base
        x = (cell % width).to(dtype) * stride_w
        y = ((cell // width) % height).to(dtype) * stride_h
        shifts = torch.stack([x, y, x, y], dim=1).to(device)
        base = self.base_anchors[level_idx].to(device=device, dtype=dtype)
        return shifts + base[(prior_idxs % num_base).to(device)]

    def valid_flags(self, featmap_sizes: Sequence[Sequence[int]], pad_shape: Sequence[int],
                    device: Union[str, torch.device] = 'cpu') -> list[Tensor]:
        """Per level, whether each anchor's cell lies inside the un-padded image.

        ``pad_shape`` is the (H, W) of the image before batch padding; cells beyond
        ceil(H / stride) x ceil(W / stride) only saw padding.
        """
        flags = []
        for i, (feat_h, feat_w) in enumerate(featmap_sizes):
            stride_w, stride_h = self.strides[i]
            valid_h = min(int(math.ceil(pad_shape[0] / stride_h)), feat_h)
            valid_w = min(int(math.ceil(pad_shape[1] / stride_w)), feat_w)
            flags.append(self.single_level_valid_flags((feat_h, feat_w), (valid_h, valid_w),
                                                       self.num_base_priors[i], device))
        return flags

    @staticmethod
    def single_level_valid_flags(featmap_size: Sequence[int], valid_size: Sequence[int],
                                 num_base_anchors: int,
                                 device: Union[str, torch.device] = 'cpu') -> Tensor:
        """(H * W * A,) flags: True for the anchors of the top-left ``valid_size`` cells."""
        feat_h, feat_w = int(featmap_size[0]), int(featmap_size[1])
        valid_x = torch.zeros(feat_w, dtype=torch.bool, device=device)
        valid_y = torch.zeros(feat_h, dtype=torch.bool, device=device)
        valid_x[:int(valid_size[1])] = True
        valid_y[:int(valid_size[0])] = True
        cell = (valid_y[:, None] & valid_x[None, :]).reshape(-1)
        return cell[:, None].expand(-1, num_base_anchors).reshape(-1)
