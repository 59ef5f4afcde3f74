"""DNLHead: a disentangled non-local block inside an FCN head (DNLNet, arXiv:2006.06668).

The block splits non-local attention into a *whitened pairwise* term (the affinity of
mean-subtracted queries and keys, sharpened by a temperature) and a *unary* term (one
softmax-weighted context per image, as GCNet's), and adds their sum to the input.
"""
import math
from typing import Optional

import torch
from mmcv.cnn import NonLocal2d
from torch import Tensor, nn

from segdet.registry import MODELS

from .block_fcn_head import BlockFCNHead
from .nl_head import check_non_local_args


def whiten(theta: Tensor, phi: Tensor) -> tuple[Tensor, Tensor]:
    """Subtract the mean over positions from queries and keys.

    Args:
        theta: Queries, positions on dim -2: (N, L, C) (or (N, C, L, 1), 'concatenation').
        phi: Keys, positions on dim -1: (N, C, L) (or (N, C, 1, L)).

    Returns:
        ``theta - mean_L(theta)``, ``phi - mean_L(phi)``, same shapes.
    """
    return theta - theta.mean(dim=-2, keepdim=True), phi - phi.mean(dim=-1, keepdim=True)


def tempered_affinity(theta: Tensor, phi: Tensor, temperature: float,
                      use_scale: bool) -> Tensor:
    """Pairwise weights ``softmax_j(theta_i . phi_j / (sqrt(C) if use_scale) / temperature)``.

    Args:
        theta: (N, L, C) queries.
        phi: (N, C, L') keys.
        temperature: Divides the logits (< 1 sharpens the softmax).
        use_scale: Also divide by sqrt(C).

    Returns:
        (N, L, L') weights, each row summing to 1.
    """
    logits = torch.matmul(theta, phi)
    if use_scale:
        logits = logits / math.sqrt(theta.shape[-1])
    return (logits / temperature).softmax(dim=-1)


def unary_context(mask_logits: Tensor, g_x: Tensor) -> Tensor:
    """One context vector per image: ``sum_j softmax_j(mask_logits) g_j``.

    Args:
        mask_logits: (N, 1, H, W) logits of the unary mask (``conv_mask``).
        g_x: (N, H*W, C) values.

    Returns:
        (N, C, 1, 1) context.
    """
    n = mask_logits.shape[0]
    mask = mask_logits.reshape(n, 1, -1).softmax(dim=-1)
    return torch.matmul(mask, g_x).reshape(n, -1, 1, 1)


class DisentangledNonLocal2d(NonLocal2d):
    """``x + conv_out(pairwise @ g + unary)``, mmcv's ``NonLocal2d`` plus ``conv_mask``.

    The pairwise term whitens theta and phi (:func:`whiten`) before mmcv's pairwise function
    of ``mode``; 'embedded_gaussian' is replaced by :func:`tempered_affinity`. The unary term
    is :func:`unary_context` of ``conv_mask(x)``. Parameters: ``g``, ``theta``, ``phi``,
    ``conv_out`` (mmcv's) and ``conv_mask`` (1x1 conv to one channel).

    Args:
        in_channels: Channels C of the input (N, C, H, W).
        temperature: Temperature of the embedded-Gaussian pairwise softmax.
        reduction: ``inter_channels = in_channels // reduction``.
        use_scale: Divide the pairwise logits by sqrt(inter_channels).
        conv_cfg: Conv config of the projections.
        norm_cfg: Norm config of ``conv_out``.
        mode: mmcv's pairwise function ('embedded_gaussian', 'gaussian', 'dot_product',
            'concatenation').
    """

    def __init__(self, in_channels: int, temperature: float, reduction: int = 2,
                 use_scale: bool = True, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, mode: str = 'embedded_gaussian') -> None:
        super().__init__(in_channels, conv_cfg=conv_cfg, reduction=reduction,
                         use_scale=use_scale, norm_cfg=norm_cfg, mode=mode)
        self.temperature = temperature
        self.conv_mask = nn.Conv2d(self.in_channels, 1, kernel_size=1)

    def embedded_gaussian(self, theta_x: Tensor, phi_x: Tensor) -> Tensor:
        """(N, L, C), (N, C, L) -> (N, L, L) weights; see :func:`tempered_affinity`."""
        return tempered_affinity(theta_x, phi_x, self.temperature, self.use_scale)

    def _queries_and_keys(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """theta and phi as mmcv's ``NonLocal2d`` forms them for ``mode``."""
        n = x.shape[0]
        if self.mode == 'gaussian':
            flat = x.reshape(n, self.in_channels, -1)
            return flat.permute(0, 2, 1), flat
        theta = self.theta(x).reshape(n, self.inter_channels, -1)
        phi = self.phi(x).reshape(n, self.inter_channels, -1)
        if self.mode == 'concatenation':
            return theta.unsqueeze(-1), phi.unsqueeze(-2)
        return theta.permute(0, 2, 1), phi

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, C, H, W). Returns: (N, C, H, W)."""
        n = x.shape[0]
        g_x = self.g(x).reshape(n, self.inter_channels, -1).permute(0, 2, 1)  # (N, HW, C')
        theta_x, phi_x = whiten(*self._queries_and_keys(x))
        pairwise = getattr(self, self.mode)(theta_x, phi_x)                     # (N, HW, HW)
        y = torch.matmul(pairwise, g_x).permute(0, 2, 1).reshape(
            n, self.inter_channels, *x.shape[2:])
        return x + self.conv_out(y + unary_context(self.conv_mask(x), g_x))


@MODELS.register_module()
class DNLHead(BlockFCNHead):
    """``convs.0 -> dnl_block -> convs.1 -> conv_cat -> cls_seg``.

    Args:
        reduction: ``inter_channels = channels // reduction`` of theta, phi and g.
        use_scale: Divide the pairwise logits by sqrt(inter_channels).
        mode: Pairwise function, 'embedded_gaussian' in mmseg's configs.
        temperature: Temperature of the pairwise softmax (> 0).
        **kwargs: :class:`FCNHead` arguments but ``num_convs`` (always 2).
    """

    def __init__(self, reduction: int = 2, use_scale: bool = True,
                 mode: str = 'embedded_gaussian', temperature: float = 0.05,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        check_non_local_args('DNLHead', reduction, mode)
        if not isinstance(temperature, (int, float)) or temperature <= 0:
            raise ValueError(f'DNLHead: temperature must be a number > 0, got {temperature!r}')
        self.reduction = reduction
        self.use_scale = use_scale
        self.mode = mode
        self.temperature = temperature
        self.dnl_block = DisentangledNonLocal2d(
            in_channels=self.channels, temperature=temperature, reduction=reduction,
            use_scale=use_scale, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, mode=mode)

    def context_block(self) -> nn.Module:
        return self.dnl_block
