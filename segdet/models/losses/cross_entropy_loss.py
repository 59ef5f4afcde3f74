"""Cross-entropy losses of both families: softmax, sigmoid (binary) and per-RoI mask BCE.

One ``CrossEntropyLoss`` serves mmseg-style decode heads (``(N, C, H, W)`` logits,
``(N, H, W)`` labels, ``ignore_index`` given at call time) and mmdet-style heads (``(N, C)``
scores, ``(N,)`` labels with background = C, ``ignore_index`` in the constructor, per-RoI
mask targets).
"""
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from segdet.registry import MODELS

from .utils import check_reduction, get_class_weight, weight_reduce_loss

# F.cross_entropy's own default: a label value that never occurs.
_DEFAULT_IGNORE = -100


def _mean_denominator(label: Tensor, class_weight: Optional[Tensor], ignore_index: int,
                      avg_non_ignore: bool) -> Optional[Union[Tensor, int]]:
    """Denominator of the 'mean' softmax cross entropy; None means a plain ``mean()``.

    Without class weights: all elements, or the non-ignored ones (``avg_non_ignore``).
    With class weights the denominator is the sum of the weights of the targets, as in
    ``F.cross_entropy``; an ignored element then counts 0 with ``avg_non_ignore`` and 1
    without it (so all-ones class weights give exactly the unweighted result).
    """
    valid = label != ignore_index
    if class_weight is None:
        return valid.sum() if avg_non_ignore else None
    target_weight = class_weight[torch.where(valid, label, 0)] * valid
    denominator = target_weight.sum()
    if not avg_non_ignore:
        denominator = denominator + (~valid).sum()
    return denominator


def cross_entropy(pred: Tensor,
                  label: Tensor,
                  weight: Optional[Tensor] = None,
                  *,
                  class_weight: Optional[Tensor] = None,
                  reduction: str = 'mean',
                  avg_factor: Optional[Union[float, Tensor]] = None,
                  ignore_index: Optional[int] = _DEFAULT_IGNORE,
                  avg_non_ignore: bool = False) -> Tensor:
    """Softmax cross entropy with element weights, class weights and ignored labels.

    Args:
        pred: (N, C) or (N, C, H, W) float logits.
        label: (N,) or (N, H, W) int64 class indices; ``ignore_index`` marks ignored ones.
        weight: Element-wise weights shaped like (or broadcastable to) ``label``.
        class_weight: (C,) float per-class weights (``F.cross_entropy``'s ``weight``).
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: With 'mean', divide the sum by this instead of the default denominator.
        ignore_index: Label value that contributes nothing; None means -100.
        avg_non_ignore: With 'mean' and no ``avg_factor``, average over the non-ignored
            elements only (mmseg's option; ``F.cross_entropy`` always does). When False
            the ignored elements count in the denominator.

    Returns:
        0-dim loss, or the element-wise loss shaped like ``label`` for 'none'.
    """
    check_reduction(reduction)
    ignore_index = _DEFAULT_IGNORE if ignore_index is None else int(ignore_index)
    label = label.long()
    loss = F.cross_entropy(pred, label, weight=class_weight, reduction='none',
                           ignore_index=ignore_index)
    if avg_factor is None and reduction == 'mean':
        avg_factor = _mean_denominator(label, class_weight, ignore_index, avg_non_ignore)
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def _one_hot_targets(label: Tensor, weight: Optional[Tensor], pred_shape: torch.Size,
                     ignore_index: int) -> tuple[Tensor, Tensor, Tensor]:
    """Expand (N, ...) class labels into (N, C, ...) 0/1 targets for sigmoid losses.

    Labels >= C (mmdet's background index) are valid all-zero rows; negative labels and
    ``ignore_index`` are invalid (weight 0).

    Returns:
        ``(targets, element_weights, valid)``, each of ``pred_shape``; ``valid`` is float.
    """
    num_channels = pred_shape[1]
    valid = (label >= 0) & (label != ignore_index)
    foreground = valid & (label < num_channels)
    targets = F.one_hot(torch.where(foreground, label, 0).long(), num_channels)
    targets = targets.movedim(-1, 1) * foreground.unsqueeze(1)
    valid = valid.unsqueeze(1).expand(pred_shape).float()
    if weight is None:
        return targets, valid, valid
    if weight.shape != pred_shape:
        weight = weight.unsqueeze(1)
    return targets, weight.float() * valid, valid


def binary_cross_entropy(pred: Tensor,
                         label: Tensor,
                         weight: Optional[Tensor] = None,
                         *,
                         reduction: str = 'mean',
                         avg_factor: Optional[Union[float, Tensor]] = None,
                         class_weight: Optional[Tensor] = None,
                         ignore_index: Optional[int] = _DEFAULT_IGNORE,
                         avg_non_ignore: bool = False) -> Tensor:
    """Sigmoid binary cross entropy in the layouts both families use.

    Layouts:
        * ``pred`` (N, 1, H, W), ``label`` (N, H, W): binary segmentation (mmseg); the label
          (0 or 1) is the target of the single logit.
        * ``pred`` (N, C), ``label`` (N,) or ``pred`` (N, C, H, W), ``label`` (N, H, W) with
          C > 1 in the latter: labels are expanded to one-hot targets; a label >= C (mmdet's
          background) gives an all-zero row. Note (N, 1) with (N,) is this case (mmdet's RPN:
          label 0 = object -> target 1, label 1 = background -> target 0).
        * ``pred`` and ``label`` of the same shape: ``label`` holds the targets.

    Args:
        pred: Float logits in one of the layouts above.
        label: Class indices or targets; negative values and ``ignore_index`` are ignored.
        weight: Element-wise weights shaped like ``label`` (or like ``pred``).
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: With 'mean', divide the sum by this.
        class_weight: (C,) weights of the positive term (``pos_weight``).
        ignore_index: Ignored label value; None means -100.
        avg_non_ignore: With 'mean' and no ``avg_factor``, average over valid elements only.

    Returns:
        0-dim loss, or the element-wise loss shaped like ``pred`` (squeezed in the
        binary-segmentation layout) for 'none'.
    """
    check_reduction(reduction)
    ignore_index = _DEFAULT_IGNORE if ignore_index is None else int(ignore_index)
    if pred.dim() == 4 and pred.size(1) == 1 and label.dim() == 3:
        valid = (label >= 0) & (label != ignore_index)
        max_label = int(label[valid].max()) if valid.any() else 0
        if max_label > 1:
            raise ValueError('binary_cross_entropy: with (N, 1, H, W) logits the labels must '
                             f'be 0, 1 or ignore_index={ignore_index}, got label {max_label}')
        pred = pred.squeeze(1)
    if pred.dim() == label.dim():
        if pred.shape != label.shape:
            raise ValueError(f'binary_cross_entropy: pred {tuple(pred.shape)} and label '
                             f'{tuple(label.shape)} must have the same shape')
        valid_mask = (label >= 0) & (label != ignore_index)
        targets = torch.where(valid_mask, label, 0)
        valid = valid_mask.float()
        elem_weight = valid if weight is None else weight.float() * valid
    else:
        if not ((pred.dim() == 2 and label.dim() == 1) or (pred.dim() == 4 and label.dim() == 3)):
            raise ValueError('binary_cross_entropy supports pred (N, C) with label (N,) or pred '
                             f'(N, C, H, W) with label (N, H, W); got pred {tuple(pred.shape)} '
                             f'and label {tuple(label.shape)}')
        targets, elem_weight, valid = _one_hot_targets(label, weight, pred.shape, ignore_index)
        if class_weight is not None and pred.dim() > 2:
            # pos_weight broadcasts over the last dim: put the class weights on dim 1.
            class_weight = class_weight.view(-1, *([1] * (pred.dim() - 2)))
    if reduction == 'mean' and avg_factor is None and avg_non_ignore:
        avg_factor = valid.sum()
    loss = F.binary_cross_entropy_with_logits(pred, targets.to(pred.dtype),
                                              pos_weight=class_weight, reduction='none')
    return weight_reduce_loss(loss, elem_weight, reduction, avg_factor)


def mask_cross_entropy(pred: Tensor,
                       target: Tensor,
                       label: Tensor,
                       *,
                       reduction: str = 'mean',
                       avg_factor: Optional[Union[float, Tensor]] = None,
                       class_weight: Optional[Tensor] = None,
                       ignore_index: Optional[int] = None) -> Tensor:
    """Per-RoI mask BCE: each RoI is scored on the mask channel of its own class (mmdet).

    Args:
        pred: (N, C, *) float mask logits of N RoIs over C classes.
        target: (N, *) float 0/1 mask targets.
        label: (N,) int64 class of each RoI (all 0 for class-agnostic masks).
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: With 'mean', divide the sum by this.
        class_weight: Not supported (must be None).
        ignore_index: Not supported (must be None).

    Returns:
        (1,) loss for 'mean' (as mmdet), 0-dim for 'sum', (N, *) for 'none'.
    """
    check_reduction(reduction)
    if ignore_index is not None:
        raise ValueError(f'mask_cross_entropy does not support ignore_index (got '
                         f'{ignore_index}); leave ignore_index=None with use_mask=True')
    if class_weight is not None:
        raise ValueError('mask_cross_entropy does not support class_weight; leave it None '
                         'with use_mask=True')
    num_rois = pred.size(0)
    if label.shape != (num_rois,):
        raise ValueError(f'mask_cross_entropy: label must have shape ({num_rois},) (one class '
                         f'per RoI), got {tuple(label.shape)}')
    if num_rois == 0:
        # Keep the graph (and a finite value) when an image has no positive RoI.
        return pred.sum()[None] * 0
    pred_slice = pred[torch.arange(num_rois, device=pred.device), label.long()]
    loss = F.binary_cross_entropy_with_logits(pred_slice, target.to(pred_slice.dtype),
                                              reduction='none')
    loss = weight_reduce_loss(loss, None, reduction, avg_factor)
    return loss[None] if reduction == 'mean' else loss


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy loss module for segmentation and detection heads.

    Args:
        use_sigmoid: Sigmoid BCE (:func:`binary_cross_entropy`) instead of softmax CE.
        use_mask: Per-RoI mask BCE (:func:`mask_cross_entropy`); exclusive with use_sigmoid.
        reduction: Default reduction: 'none', 'mean' or 'sum'.
        class_weight: Per-class weights: a list, or the path of a .npy / .json / .pkl file.
        loss_weight: Multiplier of the loss.
        loss_name: Key of this loss in a head's loss dict (mmseg); keep the ``loss_`` prefix
            for the value to be back-propagated.
        avg_non_ignore: 'mean' averages over non-ignored elements only.
        ignore_index: Default ignored label (mmdet style); an ``ignore_index`` passed to
            ``forward`` (mmseg style) takes precedence.
    """

    def __init__(self,
                 use_sigmoid: bool = False,
                 use_mask: bool = False,
                 reduction: str = 'mean',
                 class_weight: Optional[Union[str, Sequence[float], np.ndarray, Tensor]] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce',
                 avg_non_ignore: bool = False,
                 ignore_index: Optional[int] = None) -> None:
        super().__init__()
        if use_sigmoid and use_mask:
            raise ValueError('CrossEntropyLoss: use_sigmoid and use_mask cannot both be True')
        self.use_sigmoid = use_sigmoid
        self.use_mask = use_mask
        self.reduction = check_reduction(reduction, f'{type(self).__name__}: reduction')
        # A plain list, not a buffer: checkpoints of the reference toolboxes have no such key.
        self.class_weight = get_class_weight(class_weight)
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        self.avg_non_ignore = avg_non_ignore
        self.ignore_index = ignore_index

    @property
    def loss_name(self) -> str:
        """Key of this loss in a head's loss dict."""
        return self._loss_name

    def extra_repr(self) -> str:
        return (f'use_sigmoid={self.use_sigmoid}, use_mask={self.use_mask}, '
                f'loss_weight={self.loss_weight}, avg_non_ignore={self.avg_non_ignore}')

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> Tensor:
        """Compute ``loss_weight * criterion(cls_score, label)``.

        Args:
            cls_score: Logits: (N, C) / (N, C, H, W); (N, 1, H, W) for binary segmentation
                with ``use_sigmoid``; (N, C, h, w) mask logits with ``use_mask``.
            label: Class indices (N,) / (N, H, W); with ``use_mask`` the (N, h, w) float
                mask targets.
            weight: Element-wise weights; with ``use_mask`` the (N,) int64 class of each RoI
                (mmdet's positional convention).
            avg_factor: Denominator of the 'mean' reduction.
            reduction_override: 'none', 'mean' or 'sum' instead of ``self.reduction``.
            ignore_index: Ignored label; None falls back to the constructor's.

        Returns:
            The weighted loss (see the criteria for shapes).
        """
        if kwargs:
            raise TypeError(f'CrossEntropyLoss.forward got unexpected arguments {sorted(kwargs)}')
        reduction = check_reduction(reduction_override or self.reduction,
                                    f'{type(self).__name__}: reduction_override')
        if ignore_index is None:
            ignore_index = self.ignore_index
        class_weight = (None if self.class_weight is None
                        else cls_score.new_tensor(self.class_weight))
        if self.use_mask:
            loss = mask_cross_entropy(cls_score, label, weight, reduction=reduction,
                                      avg_factor=avg_factor, class_weight=class_weight,
                                      ignore_index=ignore_index)
        elif self.use_sigmoid:
            loss = binary_cross_entropy(cls_score, label, weight, reduction=reduction,
                                        avg_factor=avg_factor, class_weight=class_weight,
                                        ignore_index=ignore_index,
                                        avg_non_ignore=self.avg_non_ignore)
        else:
            loss = cross_entropy(cls_score, label, weight, reduction=reduction,
                                 avg_factor=avg_factor, class_weight=class_weight,
                                 ignore_index=ignore_index, avg_non_ignore=self.avg_non_ignore)
        return self.loss_weight * loss
