"""Box regression losses: L1 and smooth L1, element-wise with weights and reductions."""
from typing import Optional, Union

import torch
from torch import Tensor, nn

from segdet.registry import MODELS

from .utils import check_reduction, weight_reduce_loss


def l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Element-wise ``|pred - target|`` of two (N, 4) tensors (empty input gives 0)."""
    if target.numel() == 0:
        return pred.sum() * 0
    if pred.shape != target.shape:
        raise ValueError(f'l1_loss: pred {tuple(pred.shape)} and target {tuple(target.shape)} '
                         'differ in shape')
    return (pred - target).abs()


def smooth_l1_loss(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise smooth L1: ``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - beta/2``."""
    if beta <= 0:
        raise ValueError(f'smooth_l1_loss: beta must be > 0, got {beta}')
    if target.numel() == 0:
        return pred.sum() * 0
    if pred.shape != target.shape:
        raise ValueError(f'smooth_l1_loss: pred {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} differ in shape')
    diff = (pred - target).abs()
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


class _RegressionLoss(nn.Module):

    def __init__(self, reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction, f'{type(self).__name__}: reduction')
        self.loss_weight = loss_weight

    def _elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """(N, 4) predictions and targets, optional (N, 4) weights -> weighted loss.

        With 'mean' and ``avg_factor`` the sum is divided by ``avg_factor`` (mmdet's
        convention: e.g. the number of sampled boxes).
        """
        reduction = check_reduction(reduction_override or self.reduction,
                                    f'{type(self).__name__}: reduction_override')
        if weight is not None and not torch.any(weight > 0) and reduction != 'none':
            return (pred * weight).sum() * 0  # keeps the graph, as mmdet does
        loss = weight_reduce_loss(self._elementwise(pred, target), weight, reduction,
                                  avg_factor)
        return self.loss_weight * loss


@MODELS.register_module()
class L1Loss(_RegressionLoss):
    """``loss_weight * L1`` (mmdet's ``L1Loss``)."""

    def _elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return l1_loss(pred, target)


@MODELS.register_module()
class SmoothL1Loss(_RegressionLoss):
    """``loss_weight * smooth L1`` with transition point ``beta`` (mmdet's ``SmoothL1Loss``)."""

    def __init__(self, beta: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.beta = beta

    def _elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return smooth_l1_loss(pred, target, self.beta)
