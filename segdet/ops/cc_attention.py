"""Criss-cross attention (CCNet, arXiv:1811.11721) in pure PyTorch.

``mmcv.ops.CrissCrossAttention``'s module, parameter names and maths: each pixel attends to
the pixels of its row and its column (H + W - 1 positions, itself once), with unscaled
dot-product energies between 1x1-conv queries and keys and one softmax over the H + W
energies; the value-weighted sum is scaled by ``gamma`` (from 0) and added to the input.
The row and column parts are batched matrix products over the columns and the rows, so the
cost is O(H * W * (H + W) * C), not the O((H * W)^2 * C) of full attention.
"""
import torch
import torch.nn.functional as F
from mmcv.cnn import Scale
from torch import Tensor, nn


def criss_cross_attention(query: Tensor, key: Tensor, value: Tensor) -> Tensor:
    """Attention of every pixel over its row and column (no ``gamma``, no residual).

    The energy of pixel (h, w) for position p is ``query[:, h, w] . key[:, p]`` for p in
    column w (``(i, w)``, i != h) and row h (``(h, j)``, all j: the pixel itself is counted
    once, in the row part; mmcv gives the column part's self-energy ``-inf``). One softmax
    over the H + W energies weights ``value`` at those positions.

    Args:
        query: (N, C_qk, H, W) float.
        key: (N, C_qk, H, W) float.
        value: (N, C, H, W) float.

    Returns:
        (N, C, H, W) float.
    """
    height = query.shape[2]
    # channels-last (N, H, W, C) copies (free when the inputs are channels_last): every
    # matrix product below then has a unit-stride operand dim, so BLAS needs no copies.
    q, k, v = (t.permute(0, 2, 3, 1).contiguous() for t in (query, key, value))
    energy_row = torch.matmul(q, k.transpose(-1, -2))                   # (N, H, W_q, W_k)
    energy_col = torch.matmul(q.transpose(1, 2), k.permute(0, 2, 3, 1))  # (N, W, H_q, H_k)
    energy_col.diagonal(dim1=-2, dim2=-1).fill_(float('-inf'))           # self: row part only
    attn = F.softmax(torch.cat([energy_col.transpose(1, 2), energy_row], dim=-1), dim=-1)
    out = torch.matmul(attn[..., height:], v)                            # (N, H, W, C)
    # column part batched over w: (N, W, H_q, H_k) @ (N, W, H_k, C)
    out += torch.matmul(attn[..., :height].transpose(1, 2),
                        v.transpose(1, 2)).transpose(1, 2)
    return out.permute(0, 3, 1, 2)                                       # channels_last memory


class CrissCrossAttention(nn.Module):
    """``gamma * criss_cross_attention(q(x), k(x), v(x)) + x``.

    ``query_conv`` and ``key_conv`` are 1x1 convs to ``in_channels // 8``, ``value_conv`` a 1x1
    conv to ``in_channels``, ``gamma`` a :class:`mmcv.cnn.Scale` starting at 0 (mmcv's names).

    Args:
        in_channels: Channels of the input (and output); >= 8.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        if isinstance(in_channels, bool) or not isinstance(in_channels, int):
            raise TypeError('CrissCrossAttention: in_channels must be an int, got '
                            f'{type(in_channels).__name__} {in_channels!r}')
        if in_channels < 8:
            raise ValueError('CrissCrossAttention: in_channels must be >= 8 (query/key have '
                             f'in_channels // 8 channels), got {in_channels}')
        self.in_channels = in_channels
        self.query_conv = nn.Conv2d(in_channels, in_channels // 8, 1)
        self.key_conv = nn.Conv2d(in_channels, in_channels // 8, 1)
        self.value_conv = nn.Conv2d(in_channels, in_channels, 1)
        self.gamma = Scale(0.)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, in_channels, H, W). Returns: (N, in_channels, H, W)."""
        # channels_last convs hand criss_cross_attention its layout without copies
        x_cl = x.contiguous(memory_format=torch.channels_last)
        context = criss_cross_attention(self.query_conv(x_cl), self.key_conv(x_cl),
                                        self.value_conv(x_cl))
        return self.gamma(context) + x

    def extra_repr(self) -> str:
        return f'in_channels={self.in_channels}'
