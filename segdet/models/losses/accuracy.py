"""Top-k accuracy in percent (logged next to the losses, never back-propagated)."""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor, nn

from segdet.utils.arg_checks import check_int_sequence


def _percent(correct: Tensor, total: Union[int, Tensor]) -> Tensor:
    """``100 * correct / total`` as a (1,) float tensor; 0 when nothing was counted."""
    total = torch.as_tensor(total, device=correct.device).clamp(min=1)
    return (correct.sum().float() * 100.0 / total).reshape(1)


def accuracy(pred: Tensor,
             target: Tensor,
             topk: Union[int, Sequence[int]] = 1,
             thresh: Optional[float] = None,
             ignore_index: Optional[int] = None) -> Union[Tensor, list[Tensor]]:
    """Percentage of targets found among the top-k scores.

    Args:
        pred: (N, C, ...) float scores, e.g. (N, C) or (N, C, H, W).
        target: (N, ...) int64 class indices, e.g. (N,) or (N, H, W).
        topk: k, or a sequence of k values.
        thresh: If given, a hit also needs its score to be > thresh.
        ignore_index: Targets equal to it are left out of numerator and denominator.

    Returns:
        A (1,) float tensor in [0, 100] for an int ``topk``, else a list of them (one per
        k). 0 when there is nothing to count (empty batch or all targets ignored).
    """
    single = isinstance(topk, int)
    ks = check_int_sequence(topk, 'accuracy: topk', 1, allow_int=True)
    if pred.size(0) == 0:
        zeros = [pred.new_zeros(1) for _ in ks]
        return zeros[0] if single else zeros
    if pred.dim() != target.dim() + 1 or pred.shape[0] != target.shape[0] \
            or pred.shape[2:] != target.shape[1:]:
        raise ValueError(f'accuracy: pred must be (N, C, ...) for target (N, ...), got pred '
                         f'{tuple(pred.shape)} and target {tuple(target.shape)}')
    if max(ks) > pred.size(1):
        raise ValueError(f'topk {max(ks)} exceeds the {pred.size(1)} classes of pred')
    scores, labels = pred.topk(max(ks), dim=1)  # (N, k, ...)
    hits = labels == target.unsqueeze(1)
    if thresh is not None:
        hits = hits & (scores > thresh)
    total: Union[int, Tensor] = target.numel()
    if ignore_index is not None:
        valid = target != ignore_index
        hits = hits & valid.unsqueeze(1)
        total = valid.sum()
    # The top-k labels are distinct, so each element has at most one hit among them.
    results = [_percent(hits[:, :k], total) for k in ks]
    return results[0] if single else results


def binary_accuracy(pred: Tensor,
                    target: Tensor,
                    threshold: float = 0.5,
                    ignore_index: Optional[int] = None) -> Tensor:
    """Accuracy of a one-logit binary prediction ``sigmoid(pred) > threshold``, in percent.

    Args:
        pred: (N, 1, ...) float logits.
        target: (N, ...) int64 labels in {0, 1} (and ``ignore_index``).
        threshold: Probability above which the prediction is class 1.
        ignore_index: Targets equal to it are not counted.

    Returns:
        (1,) float tensor in [0, 100]; 0 when nothing is counted.
    """
    if pred.dim() != target.dim() + 1 or pred.size(1) != 1:
        raise ValueError(f'binary_accuracy: pred must be (N, 1, ...) for target (N, ...), got '
                         f'pred {tuple(pred.shape)} and target {tuple(target.shape)}')
    hits = (pred.squeeze(1).sigmoid() > threshold).long() == target
    total: Union[int, Tensor] = target.numel()
    if ignore_index is not None:
        valid = target != ignore_index
        hits = hits & valid
        total = valid.sum()
    return _percent(hits, total)


class Accuracy(nn.Module):
    """Module form of :func:`accuracy`.

    Args:
        topk: k, or a sequence of k values.
        thresh: Minimal score of a hit.
        ignore_index: Target value not counted.
    """

    def __init__(self, topk: Union[int, Sequence[int]] = (1,), thresh: Optional[float] = None,
                 ignore_index: Optional[int] = None) -> None:
        super().__init__()
        self.topk = topk
        self.thresh = thresh
        self.ignore_index = ignore_index

    def forward(self, pred: Tensor, target: Tensor) -> Union[Tensor, list[Tensor]]:
        """Args: pred (N, C, ...), target (N, ...). Returns: see :func:`accuracy`."""
        return accuracy(pred, target, self.topk, self.thresh, self.ignore_index)
