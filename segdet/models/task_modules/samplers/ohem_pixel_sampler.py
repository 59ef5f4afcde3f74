"""OHEMPixelSampler: online hard example mining over the pixels of a batch (mmseg's sampler).

The maths are two pure functions: :func:`ohem_weights_by_probability` (pixels whose
ground-truth class is predicted with low confidence) and :func:`ohem_weights_by_loss` (the
pixels of highest loss). The sampler computes their inputs from a decode head (its
``context``): the softmax probabilities, or the head's own losses per pixel.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from segdet.registry import TASK_UTILS

from .base_pixel_sampler import BasePixelSampler


def ohem_weights_by_probability(gt_prob: Tensor, valid: Tensor, thresh: float,
                                num_kept: int) -> Tensor:
    """Keep the pixels whose ground-truth probability is below ``thresh``, and at least
    ``num_kept`` of them.

    The threshold is raised to the ``num_kept``-th smallest probability of the valid pixels
    when fewer than ``num_kept`` lie below ``thresh``; every valid pixel is kept when there are
    no more than ``num_kept``. Pixels tied at that probability are all kept.

    Args:
        gt_prob: (N, H, W) float probability of each pixel's ground-truth class.
        valid: (N, H, W) bool, False for ignored pixels (never kept).
        thresh: Probability threshold.
        num_kept: Minimum number of kept pixels over the batch.

    Returns:
        (N, H, W) weights, 1. for kept pixels and 0. elsewhere, dtype of ``gt_prob``.
    """
    probs = gt_prob[valid]
    if probs.numel() <= num_kept:
        keep = valid
    else:
        kth = probs.kthvalue(num_kept).values
        keep = valid & ((gt_prob < thresh) | (gt_prob <= kth))
    return keep.to(gt_prob.dtype)


def ohem_weights_by_loss(pixel_loss: Tensor, valid: Tensor, num_kept: int) -> Tensor:
    """Keep the ``num_kept`` valid pixels of highest loss (all valid ones if fewer).

    Args:
        pixel_loss: (N, H, W) float loss of each pixel.
        valid: (N, H, W) bool, False for ignored pixels (never kept).
        num_kept: Number of kept pixels over the batch.

    Returns:
        (N, H, W) weights, 1. for kept pixels and 0. elsewhere, dtype of ``pixel_loss``.
    """
    losses = pixel_loss[valid]
    kept = torch.zeros_like(losses)
    kept[losses.topk(min(num_kept, losses.numel())).indices] = 1.
    weights = torch.zeros_like(pixel_loss)
    weights[valid] = kept
    return weights


@TASK_UTILS.register_module()
class OHEMPixelSampler(BasePixelSampler):
    """Online hard example mining for segmentation: per-pixel 0/1 loss weights.

    With ``thresh``, the hard pixels are those whose ground-truth class has a softmax
    probability below ``thresh`` (:func:`ohem_weights_by_probability`); without it, the
    ``min_kept`` pixels of highest loss under the head's ``loss_decode``
    (:func:`ohem_weights_by_loss`). Both keep at least ``min_kept`` pixels per image, i.e.
    ``min_kept * N`` over a batch of N, and never a pixel labelled ``context.ignore_index``.

    Args:
        context: The decode head that owns the sampler (its ``ignore_index`` and, without
            ``thresh``, its ``loss_decode`` are used).
        thresh: Probability threshold in (0, 1]; None ranks pixels by loss instead.
        min_kept: Minimum number of kept pixels per image (> 1, as mmseg).
    """

    def __init__(self, context: nn.Module, thresh: Optional[float] = None,
                 min_kept: int = 100000) -> None:
        super().__init__()
        if isinstance(min_kept, bool) or not isinstance(min_kept, int):
            raise TypeError(f'OHEMPixelSampler: min_kept must be an int, got '
                            f'{type(min_kept).__name__} {min_kept!r}')
        if min_kept <= 1:
            raise ValueError(f'OHEMPixelSampler: min_kept must be > 1, got {min_kept}')
        if thresh is not None:
            if isinstance(thresh, bool) or not isinstance(thresh, (int, float)):
                raise TypeError(f'OHEMPixelSampler: thresh must be None or a float, got '
                                f'{type(thresh).__name__} {thresh!r}')
            if not 0 < thresh <= 1:
                raise ValueError(f'OHEMPixelSampler: thresh is a probability threshold in '
                                 f'(0, 1], got {thresh}')
            if getattr(context, 'out_channels', None) == 1:
                raise ValueError('OHEMPixelSampler: thresh needs softmax logits, but the head '
                                 'has out_channels=1 (binary); leave thresh=None to rank '
                                 'pixels by loss')
        self.context = context
        self.thresh = thresh
        self.min_kept = min_kept

    def _pixel_loss(self, seg_logit: Tensor, seg_label: Tensor) -> Tensor:
        """(N, H, W) sum of the head's losses per pixel (``reduction_override='none'``)."""
        losses = self.context.loss_decode
        modules = list(losses) if isinstance(losses, nn.ModuleList) else [losses]
        pixel_losses = [
            loss_module(seg_logit, seg_label, weight=None,
                        ignore_index=self.context.ignore_index, reduction_override='none')
            for loss_module in modules]
        return sum(pixel_losses[1:], pixel_losses[0])

    def sample(self, seg_logit: Tensor, seg_label: Tensor) -> Tensor:
        """Weights of the hard pixels of a batch (no gradient).

        Args:
            seg_logit: (N, C, H, W) float logits, at the label size.
            seg_label: (N, H, W) or (N, 1, H, W) int64 labels (mmseg passes the latter).

        Returns:
            (N, H, W) weights, 1. for kept pixels and 0. elsewhere, dtype of ``seg_logit``.
        """
        if seg_label.dim() == 4 and seg_label.shape[1] == 1:
            seg_label = seg_label.squeeze(1)
        if seg_logit.dim() != 4 or seg_label.shape != (seg_logit.shape[0],
                                                       *seg_logit.shape[2:]):
            raise ValueError('OHEMPixelSampler.sample needs (N, C, H, W) logits and (N, H, W) '
                             f'labels of the same size, got {tuple(seg_logit.shape)} and '
                             f'{tuple(seg_label.shape)}')
        with torch.no_grad():
            seg_label = seg_label.long()
            ignore_index = self.context.ignore_index
            valid = (seg_label != ignore_index if ignore_index is not None
                     else torch.ones_like(seg_label, dtype=torch.bool))
            num_kept = self.min_kept * seg_label.shape[0]
            if self.thresh is None:
                return ohem_weights_by_loss(
                    self._pixel_loss(seg_logit, seg_label).to(seg_logit.dtype), valid,
                    num_kept)
            safe_label = torch.where(valid, seg_label, 0)
            gt_prob = F.softmax(seg_logit, dim=1).gather(1, safe_label[:, None]).squeeze(1)
            return ohem_weights_by_probability(gt_prob, valid, float(self.thresh), num_kept)
