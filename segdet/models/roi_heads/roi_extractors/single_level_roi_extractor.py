"""SingleRoIExtractor: RoIAlign each RoI on the one pyramid level its size maps to."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from segdet.ops import roi_align
from segdet.registry import MODELS


def map_roi_levels(rois: Tensor, num_levels: int, finest_scale: int = 56) -> Tensor:
    """Pyramid level of each RoI: ``floor(log2(sqrt(area) / finest_scale + 1e-6))`` clamped
    to [0, num_levels - 1] (FPN paper eq. 1 with k0 = 4 and canonical size 224).

    Args:
        rois: (R, 5) RoIs ``[batch_index, x1, y1, x2, y2]``.

    Returns:
        (R,) int64 levels.
    """
    scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
    return torch.floor(torch.log2(scale / finest_scale + 1e-6)).clamp(0, num_levels - 1).long()


class RoIAlign(nn.Module):
    """mmcv-style RoIAlign over ``segdet.ops.roi_align`` (torchvision's kernel).

    Args:
        output_size: Output side (or (h, w)).
        spatial_scale: Feature-map scale (1 / stride).
        sampling_ratio: Samples per bin side; 0 = adaptive.
        aligned: Half-pixel offset (mmcv's default True).
    """

    def __init__(self, output_size, spatial_scale: float = 1.0, sampling_ratio: int = 0,
                 pool_mode: str = 'avg', aligned: bool = True, use_torchvision: bool = True
                 ) -> None:
        super().__init__()
        if pool_mode != 'avg':
            raise NotImplementedError(f"RoIAlign: pool_mode {pool_mode!r}; only 'avg'")
        self.output_size = ((output_size, output_size) if isinstance(output_size, int)
                            else tuple(output_size))
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = aligned

    def forward(self, feats: Tensor, rois: Tensor) -> Tensor:
        """(B, C, H, W) features, (R, 5) RoIs -> (R, C, h, w).

        The RoIs are passed as they are: ``segdet.ops.roi_align`` matches their dtype to the
        features', and keeps them fp32 for half-precision CPU features, which it pools in fp32
        (bf16 would round 1000-px coordinates by several pixels).
        """
        return roi_align(feats, rois, self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)


@MODELS.register_module()
class SingleRoIExtractor(BaseModule):
    """Extract fixed-size RoI features from the level each RoI is assigned to.

    Args:
        roi_layer: ``dict(type='RoIAlign', output_size=7, sampling_ratio=0)``.
        out_channels: Channels of the features.
        featmap_strides: Stride of each input level.
        finest_scale: RoIs smaller than ``finest_scale * 2`` go to the first level.
    """

    def __init__(self, roi_layer: dict, out_channels: int, featmap_strides: Sequence[int],
                 finest_scale: int = 56, init_cfg=None) -> None:
        super().__init__(init_cfg)
        layer = dict(roi_layer)
        kind = layer.pop('type', 'RoIAlign')
        if kind != 'RoIAlign':
            raise NotImplementedError(f"SingleRoIExtractor: roi_layer type {kind!r} is not "
                                      "supported; use 'RoIAlign'")
        self.roi_layers = nn.ModuleList(
            [RoIAlign(spatial_scale=1 / s, **layer) for s in featmap_strides])
        self.out_channels = out_channels
        self.featmap_strides = list(featmap_strides)
        self.finest_scale = finest_scale
        self.output_size = self.roi_layers[0].output_size

    @property
    def num_inputs(self) -> int:
        return len(self.featmap_strides)

    def map_roi_levels(self, rois: Tensor, num_levels: int) -> Tensor:
        """Level of each (R, 5) RoI (see :func:`map_roi_levels`)."""
        return map_roi_levels(rois, num_levels, self.finest_scale)

    @staticmethod
    def roi_rescale(rois: Tensor, scale_factor: float) -> Tensor:
        """(R, 5) RoIs scaled by ``scale_factor`` about their centres (batch index kept)."""
        centre = (rois[:, 1:3] + rois[:, 3:5]) * 0.5
        half = (rois[:, 3:5] - rois[:, 1:3]) * (0.5 * scale_factor)
        return torch.cat([rois[:, :1], centre - half, centre + half], dim=1)

    def forward(self, feats: Sequence[Tensor], rois: Tensor,
                roi_scale_factor: Optional[float] = None) -> Tensor:
        """Per level (B, C, H_l, W_l) features and (R, 5) RoIs -> (R, C, h, w).

        Levels are assigned among the maps given: with fewer maps than ``featmap_strides``
        (e.g. one), the RoIs are spread over those (all on the first one), as mmdetection
        does. ``roi_scale_factor`` enlarges (> 1) or shrinks each RoI about its centre after
        its level is chosen.
        """
        out = feats[0].new_zeros((rois.size(0), self.out_channels, *self.output_size))
        if rois.size(0) == 0:
            return out
        num_levels = min(len(feats), self.num_inputs)
        levels = self.map_roi_levels(rois, num_levels)
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        if num_levels == 1:
            return self.roi_layers[0](feats[0], rois)
        for i in range(num_levels):
            inds = torch.nonzero(levels == i).flatten()
            if inds.numel():
                out[inds] = self.roi_layers[i](feats[i], rois[inds]).to(out.dtype)
        return out
