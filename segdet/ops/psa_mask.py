"""PSAMask: PSANet's point-wise mask to over-completed attention map (pure PyTorch).

Semantics of ``mmcv.ops.PSAMask`` (which mmcv ships only compiled). A pixel ``s = (h, w)``
of an (N, mask_h * mask_w, H, W) input predicts one value per offset of a mask_h x mask_w
window centred on it: channel ``(i, j)`` is the offset ``(i - (mask_h - 1) // 2,
j - (mask_w - 1) // 2)``, i.e. the position ``t = (h + i - (mask_h - 1) // 2, w + j -
(mask_w - 1) // 2)``. The output is the (N, H * W, H, W) map that places each value at its
position and zeros where the window has none (outside the window, or offsets that leave the
map):

* ``'collect'``: ``out[n, t, h, w] = in[n, (i, j), h, w]`` (channel = the position ``t`` that
  pixel ``s`` collects from);
* ``'distribute'``: ``out[n, s, t_h, t_w] = in[n, (i, j), h, w]`` (channel = the pixel ``s``
  that distributes to the position ``t``).

So, seen as (N, H*W, H*W) matrices, ``distribute`` is ``collect`` transposed
(:func:`psa_mask_matrix` builds that matrix; ``PSAHead`` uses it without the transposed copy).
"""
from typing import Union

import torch
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

PSA_TYPES = ('collect', 'distribute')


def _check_mask_size(mask_size: Union[int, tuple[int, int]], what: str) -> tuple[int, int]:
    """``mask_size`` as a pair of ints >= 1 (TypeError / ValueError naming the value)."""
    if isinstance(mask_size, bool) or not isinstance(mask_size, (int, tuple, list)):
        raise TypeError(f'{what}: mask_size must be an int or a pair of ints, got '
                        f'{type(mask_size).__name__} {mask_size!r}')
    pair = _pair(mask_size)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f'{what}: mask_size must be an int or a pair of ints, got '
                        f'{mask_size!r}')
    if min(pair) < 1:
        raise ValueError(f'{what}: mask_size entries must be >= 1, got {mask_size!r}')
    return int(pair[0]), int(pair[1])


def _window_offsets(size: int, mask_size: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Along one axis: the window index of target ``t`` seen from source ``s``, clamped into
    the window, and where it falls outside.

    Returns:
        ``index`` (S, T) int64, ``t - s + (mask_size - 1) // 2`` clamped to [0, mask_size),
        and ``outside`` (S, T) bool.
    """
    pos = torch.arange(size, device=device)
    index = pos.view(1, -1) - pos.view(-1, 1) + (mask_size - 1) // 2
    outside = (index < 0) | (index >= mask_size)
    return index.clamp_(0, mask_size - 1), outside


def psa_mask_matrix(x: Tensor, mask_size: Union[int, tuple[int, int]]) -> Tensor:
    """The over-completed map as a source x target matrix (``'distribute'``'s layout).

    ``out[n, s, t]`` is pixel ``s``'s value for position ``t`` (0 outside its window);
    ``psa_mask(x, 'distribute')`` is this matrix and ``psa_mask(x, 'collect')`` its
    transpose, each viewed as (N, H*W, H, W).

    The window is separable, so two ``gather`` calls pick it out, each with a small index
    broadcast (not materialised): the window row of every target row, then the window column
    of every target column; offsets outside the window are then zeroed. Reads are within each
    pixel's channels, so channels_last input is the fast layout (any layout is correct).

    Args:
        x: (N, mask_h * mask_w, H, W) float point-wise masks.
        mask_size: (mask_h, mask_w), or one int for both.

    Returns:
        (N, H*W, H*W) contiguous, of ``x``'s dtype.

    Raises:
        ValueError: ``x`` is not 4-D or its channel count is not mask_h * mask_w.
    """
    mask_h, mask_w = _check_mask_size(mask_size, 'psa_mask')
    if x.dim() != 4 or x.shape[1] != mask_h * mask_w:
        raise ValueError(
            f'psa_mask: mask_size={(mask_h, mask_w)} does not fit the feature map of shape '
            f'{tuple(x.shape)}: the input must be (N, mask_h * mask_w = {mask_h * mask_w}, '
            'H, W)')
    n, _, height, width = x.shape
    rows, rows_out = _window_offsets(height, mask_h, x.device)   # (s_h, t_h)
    cols, cols_out = _window_offsets(width, mask_w, x.device)    # (s_w, t_w)
    windows = x.permute(0, 2, 3, 1).reshape(n, height, width, mask_h, mask_w)
    # (n, s_h, s_w, t_h, j) = windows[n, s_h, s_w, rows[s_h, t_h], j]
    out = torch.gather(windows, 3, rows.view(1, height, 1, height, 1).expand(
        n, height, width, height, mask_w))
    # (n, s_h, s_w, t_h, t_w) = previous[n, s_h, s_w, t_h, cols[s_w, t_w]]
    out = torch.gather(out, 4, cols.view(1, 1, width, 1, width).expand(
        n, height, width, height, width))
    # in place: gather's backward does not need its output
    if bool(rows_out.any()):
        out.masked_fill_(rows_out.view(height, 1, height, 1), 0)
    if bool(cols_out.any()):
        out.masked_fill_(cols_out.view(1, width, 1, width), 0)
    return out.view(n, height * width, height * width)


def psa_mask(x: Tensor, psa_type: str, mask_size: Union[int, tuple[int, int]]) -> Tensor:
    """Spread each pixel's mask_h x mask_w window of values over the whole map.

    Args:
        x: (N, mask_h * mask_w, H, W) float point-wise masks.
        psa_type: ``'collect'`` or ``'distribute'`` (module docstring).
        mask_size: (mask_h, mask_w), or one int for both.

    Returns:
        (N, H * W, H, W) contiguous over-completed attention map, of ``x``'s dtype.

    Raises:
        ValueError: ``psa_type`` is not one of the two; ``x`` is not 4-D or its channel count
            is not mask_h * mask_w.
    """
    if psa_type not in PSA_TYPES:
        raise ValueError(f'psa_mask: psa_type must be one of {PSA_TYPES}, got {psa_type!r}')
    out = psa_mask_matrix(x, mask_size)
    if psa_type == 'collect':
        out = out.transpose(1, 2).contiguous()
    n, _, height, width = x.shape
    return out.view(n, height * width, height, width)


class PSAMask(nn.Module):
    """:func:`psa_mask` as a module with no parameters (``mmcv.ops.PSAMask``'s arguments).

    Args:
        psa_type: ``'collect'`` or ``'distribute'``.
        mask_size: (mask_h, mask_w) of the point-wise masks, or one int for both.
    """

    def __init__(self, psa_type: str, mask_size: Union[int, tuple[int, int]]) -> None:
        super().__init__()
        if psa_type not in PSA_TYPES:
            raise ValueError(f'PSAMask: psa_type must be one of {PSA_TYPES}, got '
                             f'{psa_type!r}')
        self.psa_type = psa_type
        self.mask_size = _check_mask_size(mask_size, 'PSAMask')

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, mask_h * mask_w, H, W). Returns: (N, H * W, H, W)."""
        return psa_mask(x, self.psa_type, self.mask_size)

    def extra_repr(self) -> str:
        return f'psa_type={self.psa_type}, mask_size={self.mask_size}'
