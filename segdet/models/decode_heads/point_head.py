"""PointHead: PointRend's point-wise refinement head (Kirillov et al., arXiv:1912.08193).

The second stage of a ``CascadeEncoderDecoder``: an MLP (1x1 ``Conv1d``s) classifies points
from the fine-grained features sampled there and the previous head's (coarse) logits.

- ``loss``: points chosen by uncertainty with randomness (``train_cfg``: ``num_points``,
  ``oversample_ratio``, ``importance_sample_ratio``); cross-entropy against the labels at
  the points (``pointloss_ce``, ``acc_point``, mmseg's names).
- ``predict`` and ``forward_tensor`` (the segmentor's tensor mode): subdivision (``test_cfg``:
  ``subdivision_steps``, ``subdivision_num_points``, ``scale_factor``): the coarse logits are
  upsampled ``scale_factor`` times per step and the most uncertain cells are replaced by the
  head's point logits.
"""
from typing import Any, Callable, Optional, Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.ops import (calculate_uncertainty, get_uncertain_point_coords_on_grid,
                        get_uncertain_point_coords_with_randomness, point_sample)
from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.utils.arg_checks import check_int

from ..losses import accuracy
from ..utils import resize
from .cascade_decode_head import BaseCascadeDecodeHead
from .decode_head import _fp32_context, stack_gt_sem_seg

__all__ = ['PointHead', 'calculate_uncertainty']


def _cfg_value(cfg: Any, key: str, what: str) -> Any:
    """``cfg[key]`` of a dict / ConfigDict, or a KeyError naming the config and the key."""
    if cfg is None or key not in cfg:
        raise KeyError(f'PointHead: {what} needs `{key}`, got '
                       f'{None if cfg is None else dict(cfg)}')
    return cfg[key]


@MODELS.register_module()
class PointHead(BaseCascadeDecodeHead):
    """PointRend's point head: ``num_fcs`` shared 1x1 layers over [fine, coarse] point features.

    Layers (mmseg's state-dict names): ``fcs.{k}`` ``ConvModule`` (``Conv1d``) of ``channels``
    outputs, each input concatenated with the coarse logits when ``coarse_pred_each_layer``;
    ``fc_seg`` (``Conv1d`` to ``num_classes``) replaces ``conv_seg``.

    Args:
        num_fcs: Number of ``fcs`` layers.
        coarse_pred_each_layer: Concatenate the coarse logits to the input of every layer
            (not only the first).
        conv_cfg: Conv config of ``fcs`` (``Conv1d``).
        norm_cfg: Norm config of ``fcs`` (None: a bias, no norm).
        act_cfg: Activation of ``fcs``.
        **kwargs: :class:`BaseDecodeHead` arguments: ``in_channels`` and ``in_index`` are lists
            (the maps the fine-grained features are sampled from, concatenated); the input
            transform is always 'multiple_select'. ``dropout_ratio > 0`` is an ``nn.Dropout``
            before ``fc_seg``.
    """

    def __init__(self, num_fcs: int = 3, coarse_pred_each_layer: bool = True,
                 conv_cfg: Optional[dict] = dict(type='Conv1d'),
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU', inplace=False),
                 **kwargs) -> None:
        super().__init__(input_transform='multiple_select', conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, act_cfg=act_cfg,
                         init_cfg=dict(type='Normal', std=0.01, override=dict(name='fc_seg')),
                         **kwargs)
        check_int(num_fcs, 'PointHead: num_fcs', 0)
        self.num_fcs = num_fcs
        self.coarse_pred_each_layer = coarse_pred_each_layer
        in_channels = sum(self.in_channels) + self.num_classes
        self.fcs = nn.ModuleList()
        for _ in range(num_fcs):
            self.fcs.append(ConvModule(in_channels, self.channels, kernel_size=1,
                                       conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg))
            in_channels = self.channels + (self.num_classes if coarse_pred_each_layer else 0)
        self.fc_seg = nn.Conv1d(in_channels, self.num_classes, kernel_size=1)
        self.dropout = nn.Dropout(self.dropout_ratio) if self.dropout_ratio > 0 else None
        del self.conv_seg

    def cls_seg(self, feat: Tensor) -> Tensor:
        """(N, C_in, P) point features -> (N, num_classes, P) point logits."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.fc_seg(feat)

    def forward(self, fine_grained_point_feats: Tensor,  # type: ignore[override]
                coarse_point_feats: Tensor) -> Tensor:
        """Point logits.

        Args:
            fine_grained_point_feats: (N, sum(in_channels), P) features at the points.
            coarse_point_feats: (N, num_classes, P) previous logits at the points.

        Returns:
            (N, num_classes, P) logits.
        """
        x = torch.cat([fine_grained_point_feats, coarse_point_feats], dim=1)
        for fc in self.fcs:
            x = fc(x)
            if self.coarse_pred_each_layer:
                x = torch.cat([x, coarse_point_feats], dim=1)
        return self.cls_seg(x)

    def _get_fine_grained_point_feats(self, x: Sequence[Tensor], points: Tensor) -> Tensor:
        """(N, sum(in_channels), P) features of the selected maps ``x`` at (N, P, 2) points."""
        return torch.cat([point_sample(feat, points, align_corners=self.align_corners)
                          for feat in x], dim=1)

    def _get_coarse_point_feats(self, prev_output: Tensor, points: Tensor) -> Tensor:
        """(N, num_classes, P) previous logits at (N, P, 2) points."""
        return point_sample(prev_output, points, align_corners=self.align_corners)

    def loss(self, inputs: Sequence[Tensor], prev_output: Tensor,  # type: ignore[override]
             batch_data_samples: SampleList, train_cfg: Optional[dict] = None,
             **kwargs) -> dict[str, Tensor]:
        """Point losses at ``train_cfg.num_points`` points chosen by uncertainty.

        Args:
            inputs: Multi-level features.
            prev_output: (N, num_classes, h, w) logits of the previous head.
            batch_data_samples: Samples with ``gt_sem_seg``.
            train_cfg: ``num_points``, ``oversample_ratio``, ``importance_sample_ratio``.

        Returns:
            ``{'point' + loss_name: loss, ..., 'acc_point': (1,) accuracy in percent}``.
        """
        x = self._transform_inputs(inputs)
        with torch.no_grad():
            points = self.get_points_train(prev_output, calculate_uncertainty, train_cfg)
        point_logits = self.forward(self._get_fine_grained_point_feats(x, points),
                                    self._get_coarse_point_feats(prev_output, points))
        return self.loss_by_feat(point_logits, points, batch_data_samples)

    def forward_tensor(self, inputs: Sequence[Tensor], prev_output: Tensor,
                       test_cfg: Optional[dict] = None) -> Tensor:
        """Refine the previous logits by subdivision (the segmentor's tensor mode).

        Each of ``subdivision_steps`` steps upsamples the logits ``scale_factor`` times
        (bilinear) and replaces those of the ``subdivision_num_points`` most uncertain cells
        (all cells when the map has fewer, as in mmseg) with the head's point logits.

        Args:
            inputs: Multi-level features.
            prev_output: (N, num_classes, h, w) logits of the previous head.
            test_cfg: ``subdivision_steps``, ``subdivision_num_points``, ``scale_factor``.

        Returns:
            (N, num_classes, h * s, w * s) logits, s = scale_factor ** subdivision_steps.
        """
        steps = _cfg_value(test_cfg, 'subdivision_steps', 'test_cfg')
        scale_factor = _cfg_value(test_cfg, 'scale_factor', 'test_cfg')
        check_int(steps, 'PointHead: test_cfg.subdivision_steps', 0)
        check_int(_cfg_value(test_cfg, 'subdivision_num_points', 'test_cfg'),
                  'PointHead: test_cfg.subdivision_num_points', 1)
        x = self._transform_inputs(inputs)
        refined = prev_output
        for _ in range(steps):
            refined = resize(refined, scale_factor=scale_factor, mode='bilinear',
                             align_corners=self.align_corners)
            n, c, h, w = refined.shape
            point_indices, points = self.get_points_test(refined, calculate_uncertainty,
                                                         test_cfg)
            point_logits = self.forward(self._get_fine_grained_point_feats(x, points),
                                        self._get_coarse_point_feats(prev_output, points))
            refined = refined.reshape(n, c, h * w).scatter(
                2, point_indices.unsqueeze(1).expand(-1, c, -1),
                point_logits.to(refined.dtype)).view(n, c, h, w)
        return refined

    def predict(self, inputs: Sequence[Tensor], prev_output: Tensor,  # type: ignore[override]
                batch_img_metas: list[dict], test_cfg: Optional[dict] = None,
                **kwargs) -> Tensor:
        """Subdivision refinement (:meth:`forward_tensor`), then logits at the input size.

        Args:
            inputs: Multi-level features.
            prev_output: (N, num_classes, h, w) logits of the previous head.
            batch_img_metas: Metainfo with ``pad_shape`` or ``img_shape``.
            test_cfg: ``subdivision_steps``, ``subdivision_num_points``, ``scale_factor``.

        Returns:
            (N, num_classes, H, W) logits at the input size.
        """
        return self.predict_by_feat(self.forward_tensor(inputs, prev_output, test_cfg),
                                    batch_img_metas)

    def loss_by_feat(self, point_logits: Tensor, points: Tensor,  # type: ignore[override]
                     batch_data_samples: SampleList, **kwargs) -> dict[str, Tensor]:
        """Losses of point logits against the labels at the points (nearest label pixel).

        Args:
            point_logits: (N, num_classes, P) logits.
            points: (N, P, 2) normalised (x, y) coordinates of the points.
            batch_data_samples: Samples with ``gt_sem_seg.data`` (1, H, W).

        Returns:
            ``{'point' + loss_name: loss, ..., 'acc_point': (1,) accuracy in percent}``.
        """
        seg_label = stack_gt_sem_seg(batch_data_samples).to(point_logits.device)
        point_label = point_sample(seg_label.unsqueeze(1).float(), points.float(),
                                   mode='nearest', align_corners=self.align_corners)
        point_label = point_label.squeeze(1).long()
        losses: dict[str, Tensor] = {}
        with _fp32_context(point_logits.device):
            point_logits = point_logits.float()
            for loss_module in self._loss_modules():
                key = 'point' + loss_module.loss_name
                value = loss_module(point_logits, point_label, ignore_index=self.ignore_index)
                losses[key] = losses[key] + value if key in losses else value
            with torch.no_grad():
                losses['acc_point'] = accuracy(point_logits, point_label,
                                               ignore_index=self.ignore_index)
        return losses

    def get_points_train(self, seg_logits: Tensor,
                         uncertainty_func: Callable[[Tensor], Tensor], cfg: Any) -> Tensor:
        """(N, num_points, 2) training points; see
        :func:`segdet.ops.get_uncertain_point_coords_with_randomness`.

        ``cfg`` holds ``num_points``, ``oversample_ratio`` and ``importance_sample_ratio``.
        """
        return get_uncertain_point_coords_with_randomness(
            seg_logits, uncertainty_func,
            _cfg_value(cfg, 'num_points', 'train_cfg'),
            _cfg_value(cfg, 'oversample_ratio', 'train_cfg'),
            _cfg_value(cfg, 'importance_sample_ratio', 'train_cfg'))

    def get_points_test(self, seg_logits: Tensor, uncertainty_func: Callable[[Tensor], Tensor],
                        cfg: Any) -> tuple[Tensor, Tensor]:
        """The ``cfg.subdivision_num_points`` most uncertain cells of ``seg_logits`` (at most
        all of them): (N, P) flat indices and (N, P, 2) cell-centre coordinates."""
        _, _, h, w = seg_logits.shape
        num_points = min(_cfg_value(cfg, 'subdivision_num_points', 'test_cfg'), h * w)
        return get_uncertain_point_coords_on_grid(uncertainty_func(seg_logits), num_points)
