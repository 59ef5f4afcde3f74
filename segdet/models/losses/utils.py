"""Reduction helpers shared by every loss: element-wise weights, mean/sum/none, avg_factor."""
import functools
import json
import os.path as osp
import pickle
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')

# Guards the division by ``avg_factor`` when every element was ignored (the sum is then 0).
_EPS = torch.finfo(torch.float32).eps


def check_reduction(reduction: str, name: str = 'reduction') -> str:
    """Return ``reduction`` if it is one of 'none', 'mean', 'sum'; raise naming ``name`` if not."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'{name} must be one of {REDUCTIONS}, got {reduction!r}')
    return reduction


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Reduce an element-wise loss.

    Args:
        loss: Element-wise loss of any shape.
        reduction: 'none' (returned as is), 'mean' or 'sum' over all elements.

    Returns:
        ``loss`` unchanged for 'none', otherwise a 0-dim tensor.
    """
    check_reduction(reduction)
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    return loss


def weight_reduce_loss(loss: Tensor,
                       weight: Optional[Tensor] = None,
                       reduction: str = 'mean',
                       avg_factor: Optional[Union[float, Tensor]] = None) -> Tensor:
    """Multiply an element-wise loss by ``weight`` and reduce it.

    Args:
        loss: Element-wise loss, e.g. (N,) or (N, H, W) float.
        weight: Element-wise weights broadcastable to ``loss``; None means all ones.
        reduction: 'none', 'mean' or 'sum'.
        avg_factor: With 'mean', the loss is ``sum / avg_factor`` instead of ``mean``
            (e.g. the number of valid elements). Not allowed with 'sum'; ignored with 'none'.

    Returns:
        The weighted loss, reduced as asked.
    """
    check_reduction(reduction)
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == 'mean':
        return loss.sum() / (avg_factor + _EPS)
    if reduction == 'sum':
        raise ValueError('avg_factor can only be used with reduction="mean" or "none", '
                         'got reduction="sum"')
    return loss


def weighted_loss(loss_func: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """Decorate an element-wise loss ``f(pred, target, **kw)`` with weight and reduction.

    The decorated function is ``f(pred, target, weight=None, reduction='mean',
    avg_factor=None, **kw)`` and reduces with :func:`weight_reduce_loss`.
    """

    @functools.wraps(loss_func)
    def wrapper(pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                reduction: str = 'mean',
                avg_factor: Optional[Union[float, Tensor]] = None,
                **kwargs) -> Tensor:
        return weight_reduce_loss(loss_func(pred, target, **kwargs), weight, reduction,
                                  avg_factor)

    return wrapper


def get_class_weight(
        class_weight: Optional[Union[str, Sequence[float], np.ndarray, Tensor]]
) -> Optional[list[float]]:
    """Normalise a ``class_weight`` option into a list of floats.

    Args:
        class_weight: None, a sequence / array / tensor of per-class weights, or the path of
            a ``.npy``, ``.json`` or ``.pkl`` file holding such a sequence. (A ``.pkl`` file
            is unpickled: it is trusted as much as the config that names it.)

    Returns:
        The per-class weights as a list of floats, or None.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if not osp.isfile(class_weight):
            raise FileNotFoundError(f'class_weight file not found: {class_weight}')
        if class_weight.endswith('.npy'):
            class_weight = np.load(class_weight)
        elif class_weight.endswith('.json'):
            with open(class_weight) as f:
                class_weight = json.load(f)
        elif class_weight.endswith('.pkl'):
            with open(class_weight, 'rb') as f:
                class_weight = pickle.load(f)
        else:
            raise ValueError(f'class_weight file must end with .npy, .json or .pkl, '
                             f'got {class_weight}')
    if isinstance(class_weight, Tensor):
        class_weight = class_weight.detach().cpu().numpy()
    values = np.asarray(class_weight, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f'class_weight must be a non-empty 1-D sequence of floats, got shape '
                         f'{values.shape}')
    return [float(v) for v in values]
