"""Anchors as torchvision's detection models make them (for converted torchvision weights)."""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from segdet.registry import TASK_UTILS

from .anchor_generator import AnchorGenerator, Stride, grid_anchors


def rounded_base_anchors(base_size: float, scales: Tensor, ratios: Tensor) -> Tensor:
    """One cell's anchors as ``torchvision.models.detection.anchor_utils.AnchorGenerator``
    makes them: centred at 0, half-sizes rounded to whole pixels.

    For ratio r (= h / w) and size s = base_size * scale: w = s / sqrt(r), h = s * sqrt(r), and
    the anchor is ``round([-w / 2, -h / 2, w / 2, h / 2])``; e.g. size 32 at ratio 0.5 gives
    (-23, -11, 23, 11) where mmdetection's unrounded anchor is (-22.63, -11.31, 22.63, 11.31).
    Ordering is ratio-major over scales, as ``base_anchors(..., scale_major=True)``.

    Returns:
        (len(ratios) * len(scales), 4) boxes (x1, y1, x2, y2).
    """
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    sizes = base_size * scales
    ws = (w_ratios[:, None] * sizes[None, :]).reshape(-1)
    hs = (h_ratios[:, None] * sizes[None, :]).reshape(-1)
    return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()


@TASK_UTILS.register_module()
class TorchvisionAnchorGenerator(AnchorGenerator):
    """``AnchorGenerator`` with torchvision's anchors, so that a model converted from
    torchvision sees the same anchors (and thus the same proposals) as the original:

    - cell anchors are rounded to whole pixels (:func:`rounded_base_anchors`), centred on the
      cell's top-left corner (``center_offset=0``);
    - in :meth:`grid_priors`, each level's stride is the padded input size divided (rounding
      down) by the level's size, as torchvision computes it, instead of the nominal stride:
      the two differ on a level whose size was rounded up, e.g. P6 (nominal 64) of an input
      padded to 800 x 1344 is 13 x 21, so torchvision steps 800 // 13 = 61 pixels down it.
      The input size is the first level's size times its stride. ``single_level_grid_priors``,
      ``sparse_priors`` and ``valid_flags`` (training) keep the nominal strides.

    torchvision's ``AnchorGenerator(sizes=((32,), (64,), ...), aspect_ratios=((0.5, 1.0,
    2.0),) * 5)`` is ``TorchvisionAnchorGenerator(strides=[4, 8, 16, 32, 64], scales=[8],
    ratios=[0.5, 1.0, 2.0])``: size = stride x scale on every level.

    Args:
        strides, ratios, scales, base_sizes: As ``AnchorGenerator``.
    """

    def __init__(self, strides: Sequence[Stride], ratios: Sequence[float],
                 scales: Optional[Sequence[float]] = None,
                 base_sizes: Optional[Sequence[float]] = None) -> None:
        super().__init__(strides=strides, ratios=ratios, scales=scales, base_sizes=base_sizes)
        self.base_anchors = [rounded_base_anchors(size, self.scales, self.ratios)
                             for size in self.base_sizes]

    def grid_priors(self, featmap_sizes: Sequence[Sequence[int]],
                    dtype: torch.dtype = torch.float32,
                    device: Union[str, torch.device] = 'cpu') -> list[Tensor]:
        """Anchors of every level, with torchvision's strides: a list of (H_i * W_i * A, 4)."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f'{type(self).__name__}: {len(featmap_sizes)} feature maps for '
                             f'{self.num_levels} levels')
        first_h, first_w = (int(v) for v in featmap_sizes[0][:2])
        img_h, img_w = first_h * self.strides[0][1], first_w * self.strides[0][0]
        priors = []
        for base, (feat_h, feat_w) in zip(self.base_anchors, featmap_sizes):
            stride = (img_w // int(feat_w), img_h // int(feat_h))
            priors.append(grid_anchors(base.to(device=device, dtype=dtype), (feat_h, feat_w),
                                       stride))
        return priors
