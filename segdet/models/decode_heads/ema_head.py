"""EMAHead: expectation-maximisation attention (EMANet, arXiv:1907.13426).

A small set of K bases (C-dim, unit L2 norm) is fitted to each image's features by a few EM
iterations; the features are then rebuilt from the bases, which keeps the main structure and
drops noise. The bases kept between images are a running average (momentum) of the fitted ones,
averaged over all processes in distributed training.
"""
import math

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils.dist_utils import reduce_mean
from segdet.models.utils.feature_checks import check_selected_channels
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int

from .decode_head import BaseDecodeHead


def em_step(feats: Tensor, bases: Tensor) -> tuple[Tensor, Tensor]:
    """One EM iteration.

    E-step: ``z[n, k] = softmax_k(x_n . mu_k)``. M-step: ``mu_k = sum_n x_n z[n, k] /
    sum_n z[n, k]``, then each base scaled to unit L2 norm.

    Args:
        feats: (B, C, L) features x, L positions.
        bases: (B, C, K) bases mu.

    Returns:
        The new (B, C, K) bases and the (B, L, K) responsibilities z of the E-step.
    """
    attention = torch.einsum('bcl,bck->blk', feats, bases).softmax(dim=2)
    weights = F.normalize(attention, p=1, dim=1)  # each base's weights sum to 1 over positions
    new_bases = F.normalize(torch.einsum('bcl,blk->bck', feats, weights), p=2, dim=1)
    return new_bases, attention


def em_iterations(feats: Tensor, bases: Tensor, num_stages: int) -> tuple[Tensor, Tensor]:
    """``num_stages`` (>= 1) :func:`em_step` s; returns the last bases and responsibilities."""
    attention = None
    for _ in range(num_stages):
        bases, attention = em_step(feats, bases)
    return bases, attention


def reconstruct(bases: Tensor, attention: Tensor) -> Tensor:
    """Features rebuilt from the bases: ``x~_n = sum_k z[n, k] mu_k``.

    Args:
        bases: (B, C, K).
        attention: (B, L, K) responsibilities.

    Returns:
        (B, C, L).
    """
    return torch.einsum('bck,blk->bcl', bases, attention)


def momentum_update(running: Tensor, bases: Tensor, momentum: float) -> Tensor:
    """The next running bases: ``(1 - m) * running + m * normalize(mean of bases)``.

    The mean is over the batch and then over all processes (:func:`reduce_mean`), and is
    scaled to unit L2 norm per base before mixing.

    Args:
        running: (1, C, K) running bases.
        bases: (B, C, K) bases fitted to this batch.
        momentum: Weight m of the new bases.

    Returns:
        (1, C, K) new running bases (not renormalised, as in mmseg).
    """
    mean = F.normalize(reduce_mean(bases.mean(dim=0, keepdim=True)), p=2, dim=1)
    return (1 - momentum) * running + momentum * mean


def check_momentum(momentum: float, what: str) -> None:
    """Raise a ``ValueError`` naming ``what`` unless ``momentum`` is a number in [0, 1]."""
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or \
            not 0 <= momentum <= 1:
        raise ValueError(f'{what} must be a number in [0, 1], got {momentum!r}')


class EMAModule(nn.Module):
    """EM attention on (N, C, H, W) features with K running bases (buffer ``bases``).

    The EM iterations run without gradients from the running bases; the output is the
    reconstruction (N, C, H, W). In training mode the running bases then move towards the
    batch's fitted bases (:func:`momentum_update`).

    Args:
        channels: Channels C.
        num_bases: Number of bases K.
        num_stages: Number of EM iterations (>= 1).
        momentum: Momentum of the running bases.
    """

    def __init__(self, channels: int, num_bases: int, num_stages: int,
                 momentum: float) -> None:
        super().__init__()
        check_int(channels, 'EMAModule: channels', 1)
        check_int(num_bases, 'EMAModule: num_bases', 1)
        check_int(num_stages, 'EMAModule: num_stages', 1)
        check_momentum(momentum, 'EMAModule: momentum')
        self.num_bases = num_bases
        self.num_stages = num_stages
        self.momentum = momentum
        bases = torch.empty(1, channels, num_bases).normal_(0, math.sqrt(2. / num_bases))
        self.register_buffer('bases', F.normalize(bases, p=2, dim=1))

    def forward(self, feats: Tensor) -> Tensor:
        """Args: feats (N, C, H, W). Returns: the (N, C, H, W) reconstruction."""
        n, c, h, w = feats.shape
        flat = feats.reshape(n, c, h * w)
        with torch.no_grad():
            bases, attention = em_iterations(flat, self.bases.expand(n, -1, -1),
                                             self.num_stages)
        recon = reconstruct(bases, attention).reshape(n, c, h, w)
        if self.training:
            with torch.no_grad():
                self.bases.copy_(momentum_update(self.bases, bases, self.momentum))
        return recon


@MODELS.register_module()
class EMAHead(BaseDecodeHead):
    """``ema_in_conv -> ema_mid_conv (frozen) -> EM attention -> ema_out_conv``, added to the
    ``ema_in_conv`` features, then ``bottleneck`` (and ``conv_cat`` over [input, features]).

    Args:
        ema_channels: Channels C of the EM attention.
        num_bases: Number of bases K.
        num_stages: Number of EM iterations.
        concat_input: Fuse the input with the features by ``conv_cat`` before classifying.
        momentum: Momentum of the running bases.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, ema_channels: int, num_bases: int, num_stages: int,
                 concat_input: bool = True, momentum: float = 0.1, **kwargs) -> None:
        super().__init__(**kwargs)
        check_int(ema_channels, 'EMAHead: ema_channels', 1)
        check_int(num_bases, 'EMAHead: num_bases', 1)
        check_int(num_stages, 'EMAHead: num_stages', 1)
        check_momentum(momentum, 'EMAHead: momentum')
        self.ema_channels = ema_channels
        self.num_bases = num_bases
        self.num_stages = num_stages
        self.concat_input = concat_input
        self.momentum = momentum
        self.ema_module = EMAModule(ema_channels, num_bases, num_stages, momentum)
        conv = dict(conv_cfg=self.conv_cfg)
        self.ema_in_conv = ConvModule(self.in_channels, ema_channels, 3, padding=1,
                                      norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, **conv)
        # A fixed random projection of the (ReLU, >= 0) features onto all real values.
        self.ema_mid_conv = ConvModule(ema_channels, ema_channels, 1, norm_cfg=None,
                                       act_cfg=None, **conv)
        self.ema_mid_conv.requires_grad_(False)
        self.ema_out_conv = ConvModule(ema_channels, ema_channels, 1, norm_cfg=self.norm_cfg,
                                       act_cfg=None, **conv)
        self.bottleneck = ConvModule(ema_channels, self.channels, 3, padding=1,
                                     norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, **conv)
        if concat_input:
            self.conv_cat = ConvModule(self.in_channels + self.channels, self.channels, 3,
                                       padding=1, norm_cfg=self.norm_cfg,
                                       act_cfg=self.act_cfg, **conv)

    def _forward_feature(self, inputs: list[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        check_selected_channels('EMAHead', [x], [self.in_channels], [self.in_index])
        identity = self.ema_in_conv(x)
        recon = F.relu(self.ema_module(self.ema_mid_conv(identity)))
        feats = self.bottleneck(F.relu(identity + self.ema_out_conv(recon)))
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats

    def forward(self, inputs: list[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, h, w) logits."""
        return self.cls_seg(self._forward_feature(inputs))
