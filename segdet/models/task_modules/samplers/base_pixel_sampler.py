"""Pixel samplers of decode heads: per-pixel loss weights (mmseg's ``sampler`` of a head).

A decode head built with ``sampler=dict(type=...)`` calls :func:`build_pixel_sampler` with
itself as ``context``; in ``loss_by_feat`` it passes ``sampler.sample(logits, labels)`` to every
loss as the element-wise ``weight``.
"""
from abc import ABCMeta, abstractmethod
from typing import Any

from torch import Tensor

from segdet.registry import TASK_UTILS


class BasePixelSampler(metaclass=ABCMeta):
    """Base of pixel samplers: ``sample(seg_logit, seg_label)`` returns per-pixel weights."""

    def __init__(self, **kwargs: Any) -> None:
        pass

    @abstractmethod
    def sample(self, seg_logit: Tensor, seg_label: Tensor) -> Tensor:
        """Weights of the pixels of a batch.

        Args:
            seg_logit: (N, C, H, W) float logits, at the label size.
            seg_label: (N, H, W) or (N, 1, H, W) int64 labels.

        Returns:
            (N, H, W) float weights, in the dtype of ``seg_logit``.
        """


def build_pixel_sampler(cfg: dict, **default_args: Any) -> BasePixelSampler:
    """Build a pixel sampler registered in ``TASK_UTILS`` (mmseg's ``build_pixel_sampler``).

    Args:
        cfg: Config with ``type``, e.g. ``dict(type='OHEMPixelSampler', thresh=0.7,
            min_kept=10000)``.
        **default_args: Arguments added to ``cfg`` where it lacks them (a head passes
            ``context=self``).

    Returns:
        The sampler.
    """
    if not isinstance(cfg, dict):
        raise TypeError(f'sampler must be a config dict such as dict(type=\'OHEMPixelSampler\', '
                        f'thresh=0.7, min_kept=10000), got {type(cfg).__name__} {cfg!r}')
    return TASK_UTILS.build(cfg, default_args=default_args)
