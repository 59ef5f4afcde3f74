"""PSAHead: point-wise spatial attention (PSANet, ECCV 2018).

Every pixel predicts, from its own features, a mask_h x mask_w window of attention weights
around itself; :func:`segdet.ops.psa_mask` spreads the windows into an over-completed
(H*W x H*W) map, and the features are aggregated with it. In 'collect' mode pixel ``s``
gathers from the positions of its window, in 'distribute' mode it sends to them;
'bi-direction' (the default) runs both branches on separate reductions and concatenates them.
"""
from numbers import Real
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.ops import psa_mask_matrix
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int, check_int_sequence

from .decode_head import BaseDecodeHead

PSA_TYPES = ('collect', 'distribute', 'bi-direction')


def shrunk_size(height: int, width: int, shrink_factor: int,
                align_corners: bool) -> tuple[int, int, bool]:
    """Size of the map the attention runs on, and ``align_corners`` of the resizes (mmseg's).

    With ``shrink_factor`` 1 the map is not shrunk and ``align_corners`` is the head's. Else,
    when both height and width are not multiples of the factor, ``ceil`` sizes with
    ``align_corners=True`` (a 97 map becomes 49, corners kept); otherwise ``floor`` sizes with
    ``align_corners=False``.

    Returns:
        (h, w, align_corners).
    """
    if shrink_factor == 1:
        return height, width, align_corners
    if height % shrink_factor and width % shrink_factor:
        return (height - 1) // shrink_factor + 1, (width - 1) // shrink_factor + 1, True
    return height // shrink_factor, width // shrink_factor, False


def psa_aggregate(feats: Tensor, matrix: Tensor, transpose: bool, softmax: bool,
                  normalization_factor: float) -> Tensor:
    """Aggregate features with an over-completed attention map.

    With ``y = matrix^T`` if ``transpose`` else ``matrix`` (the (H*W, H*W) map whose rows are
    the positions read and columns the pixels written, as ``mmcv.ops.PSAMask``'s channels and
    pixels), ``y`` is softmaxed over its rows (dim 1) if ``softmax``, and
    ``out[:, c, p] = sum_q feats[:, c, q] * y[:, q, p] / normalization_factor``.

    The softmax runs along ``matrix``'s contiguous last dim when ``transpose`` (the
    'collect' case): the same numbers, without copying the transpose.

    Args:
        feats: (N, C, H, W) float.
        matrix: (N, H*W, H*W) float.
        transpose: Whether ``y`` is ``matrix`` transposed.
        softmax: Normalise ``y`` with a softmax over dim 1.
        normalization_factor: Divisor of the result.

    Returns:
        (N, C, H, W) float.
    """
    n, c, height, width = feats.shape
    if softmax:
        matrix = F.softmax(matrix, dim=2 if transpose else 1)
    y = matrix.transpose(1, 2) if transpose else matrix
    out = torch.bmm(feats.reshape(n, c, height * width), y)
    return out.view(n, c, height, width) * (1.0 / normalization_factor)


@MODELS.register_module()
class PSAHead(BaseDecodeHead):
    """PSANet head: point-wise attention branches, ``proj``, then a 3x3 ``bottleneck`` over
    [input, context].

    Args:
        mask_size: (mask_h, mask_w) of each pixel's attention window; mmseg uses about twice
            the shrunk feature map (97 for 769x769 crops, 66 for ADE20K's 512x512).
        psa_type: 'collect', 'distribute' or 'bi-direction' (both, concatenated).
        compact: Take the attention conv's (H*W) channels as the map directly instead of
            through PSAMask (then mask_h * mask_w must equal the shrunk map's h * w).
        shrink_factor: The attention runs on the map shrunk by this factor (:func:`shrunk_size`).
        normalization_factor: Divisor of the aggregated features; None: mask_h * mask_w.
        psa_softmax: Softmax the attention map over the positions read.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, mask_size: Sequence[int], psa_type: str = 'bi-direction',
                 compact: bool = False, shrink_factor: int = 2,
                 normalization_factor: Optional[float] = 1.0, psa_softmax: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if psa_type not in PSA_TYPES:
            raise ValueError(f'PSAHead: psa_type must be one of {PSA_TYPES}, got {psa_type!r}')
        mask_hw = check_int_sequence(mask_size, 'PSAHead: mask_size', 1)
        if len(mask_hw) != 2:
            raise ValueError(f'PSAHead: mask_size must be (mask_h, mask_w), got {mask_size!r}')
        mask_h, mask_w = mask_hw
        self.shrink_factor = check_int(shrink_factor, 'PSAHead: shrink_factor', 1)
        if normalization_factor is None:
            normalization_factor = mask_h * mask_w
        if isinstance(normalization_factor, bool) or not isinstance(normalization_factor, Real):
            raise TypeError('PSAHead: normalization_factor must be a number or None, got '
                            f'{type(normalization_factor).__name__} {normalization_factor!r}')
        if normalization_factor <= 0:
            raise ValueError('PSAHead: normalization_factor must be > 0, got '
                             f'{normalization_factor}')
        self.psa_type = psa_type
        self.compact = compact
        self.mask_size = mask_size
        self.mask_hw = mask_hw
        self.psa_softmax = psa_softmax
        self.normalization_factor = normalization_factor

        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.reduce = ConvModule(self.in_channels, self.channels, 1, **cfg)
        self.attention = nn.Sequential(
            ConvModule(self.channels, self.channels, 1, **cfg),
            nn.Conv2d(self.channels, mask_h * mask_w, kernel_size=1, bias=False))
        if psa_type == 'bi-direction':
            self.reduce_p = ConvModule(self.in_channels, self.channels, 1, **cfg)
            self.attention_p = nn.Sequential(
                ConvModule(self.channels, self.channels, 1, **cfg),
                nn.Conv2d(self.channels, mask_h * mask_w, kernel_size=1, bias=False))
        # mmseg's proj pads its 1x1 conv by 1 (a border of BN/ReLU of zeros), resized away.
        self.proj = ConvModule(self.channels * (2 if psa_type == 'bi-direction' else 1),
                               self.in_channels, 1, padding=1, **cfg)
        self.bottleneck = ConvModule(self.in_channels * 2, self.channels, 3, padding=1, **cfg)

    def _attend(self, feats: Tensor, attention: nn.Module, transpose: bool) -> Tensor:
        """One branch: masks from ``attention``, then :func:`psa_aggregate` over ``feats``.

        ``transpose`` says whether the branch reads the over-completed map transposed
        (module docstring of :mod:`segdet.ops.psa_mask`).
        """
        n, _, height, width = feats.shape
        # channels_last: each pixel's mask values contiguous for PSAMask's gather
        masks = attention(feats.contiguous(memory_format=torch.channels_last))
        if self.compact:
            if masks.shape[1] != height * width:
                raise ValueError(
                    f'PSAHead: mask_size={self.mask_hw} does not fit the feature map: '
                    'compact=True needs mask_h * mask_w = h * w of the shrunk map, got a '
                    f'{height}x{width} map')
            matrix = masks.reshape(n, height * width, height * width)
        else:
            matrix = psa_mask_matrix(masks, self.mask_hw)
        return psa_aggregate(feats, matrix, transpose, self.psa_softmax,
                             self.normalization_factor)

    def _shrink(self, feats: Tensor) -> tuple[Tensor, bool]:
        """Resize (N, C, H, W) features to the attention's size; also return align_corners."""
        height, width, align_corners = shrunk_size(*feats.shape[2:], self.shrink_factor,
                                                   self.align_corners)
        if self.shrink_factor != 1:
            feats = resize(feats, size=(height, width), mode='bilinear',
                           align_corners=align_corners)
        return feats, align_corners

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        if self.psa_type == 'bi-direction':
            x_col, align_corners = self._shrink(self.reduce(x))
            x_dis, _ = self._shrink(self.reduce_p(x))
            # mmseg: non-compact -> PSAMask collect / distribute; compact -> the conv's map
            # as is for collect and transposed for distribute.
            out = torch.cat([self._attend(x_col, self.attention, not self.compact),
                             self._attend(x_dis, self.attention_p, self.compact)], dim=1)
        else:
            feats, align_corners = self._shrink(self.reduce(x))
            out = self._attend(feats, self.attention, self.psa_type == 'collect')
        out = resize(self.proj(out), size=x.shape[2:], mode='bilinear',
                     align_corners=align_corners)
        return self.bottleneck(torch.cat([x, out], dim=1))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, h, w) logits."""
        return self.cls_seg(self._forward_feature(inputs))
