"""Encoding layer of EncNet (Zhang et al., "Context Encoding for Semantic Segmentation",
arXiv:1803.08904): a learnable residual encoder over a dictionary of codewords.

For the L = H * W features x_i of an image, K codewords d_k and smoothing factors s_k::

    a_ik = softmax_k(s_k * ||x_i - d_k||^2)        (soft assignment, the s_k start negative)
    e_k  = sum_i a_ik * (x_i - d_k)                 (aggregated residuals)

The functions compute both with matrix products, never materialising the (N, L, K, C)
residual tensor (at 512x1024 input that would be 0.5 GB per image).
"""
import torch
import torch.nn.functional as F
from torch import Tensor, nn


def scaled_l2(x: Tensor, codewords: Tensor, scale: Tensor) -> Tensor:
    """Scaled squared distances ``scale_k * ||x_i - codewords_k||^2``.

    Args:
        x: (N, L, C) float features.
        codewords: (K, C) float codewords.
        scale: (K,) float smoothing factors.

    Returns:
        (N, L, K) float.
    """
    # ||x||^2 - 2 x.d + ||d||^2; clamp the rounding error of near-equal vectors at 0
    dist = (x.pow(2).sum(dim=2, keepdim=True) - 2 * x @ codewords.t()
            + codewords.pow(2).sum(dim=1)).clamp(min=0)
    return dist * scale


def aggregate(assignment_weights: Tensor, x: Tensor, codewords: Tensor) -> Tensor:
    """Residuals to each codeword summed with the assignment weights.

    Args:
        assignment_weights: (N, L, K) float soft assignments.
        x: (N, L, C) float features.
        codewords: (K, C) float codewords.

    Returns:
        (N, K, C) float: ``sum_i a_ik (x_i - d_k)``.
    """
    weighted_x = assignment_weights.transpose(1, 2) @ x                # (N, K, C)
    return weighted_x - assignment_weights.sum(dim=1).unsqueeze(2) * codewords


class Encoding(nn.Module):
    """Encoding layer: (N, C, H, W) features -> (N, K, C) aggregated residuals.

    Parameters (mmseg's names): ``codewords`` (K, C), initialised uniform in
    +-1/sqrt(K * C); ``scale`` (K,), the smoothing factors, uniform in [-1, 0).

    Args:
        channels: Feature channels C.
        num_codes: Number of codewords K.
    """

    scaled_l2 = staticmethod(scaled_l2)
    aggregate = staticmethod(aggregate)

    def __init__(self, channels: int, num_codes: int) -> None:
        super().__init__()
        self.channels, self.num_codes = channels, num_codes
        std = 1. / ((num_codes * channels) ** 0.5)
        self.codewords = nn.Parameter(torch.empty(num_codes, channels).uniform_(-std, std))
        self.scale = nn.Parameter(torch.empty(num_codes).uniform_(-1, 0))

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, C, H, W). Returns: (N, K, C) encoded features."""
        if x.dim() != 4 or x.size(1) != self.channels:
            raise ValueError(f'Encoding: input must be (N, {self.channels}, H, W), got '
                             f'{tuple(x.shape)}')
        x = x.flatten(2).transpose(1, 2)                                   # (N, L, C)
        weights = F.softmax(scaled_l2(x, self.codewords, self.scale), dim=2)
        return aggregate(weights, x, self.codewords)

    def extra_repr(self) -> str:
        return f'Nx{self.channels}xHxW => Nx{self.num_codes}x{self.channels}'
