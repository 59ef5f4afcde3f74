"""DMHead: dynamic convolutional modules (DMNet, ICCV 2019, He, Deng and Qiao)."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from torch import Tensor, nn

from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int, check_int_sequence

from .decode_head import BaseDecodeHead


def dynamic_filter_padding(filter_size: int) -> tuple[int, int, int, int]:
    """Zero padding that keeps the size under a ``filter_size`` x ``filter_size`` filter.

    Odd sizes pad (k - 1) / 2 on every side; even sizes pad one more on the left and top
    than on the right and bottom (k / 2 and k / 2 - 1), as mmseg's DMNet does.

    Args:
        filter_size: k >= 1.

    Returns:
        ``(left, right, top, bottom)``, the order ``F.pad`` takes for the last two dims.
    """
    pad = (filter_size - 1) // 2
    if filter_size % 2 == 1:
        return pad, pad, pad, pad
    return pad + 1, pad, pad + 1, pad


def dynamic_depthwise_conv(x: Tensor, filters: Tensor) -> Tensor:
    """Filter each channel of each image with its own k x k filter (size preserved).

    ``out[n, c, i, j] = sum_{u, v} filters[n, c, u, v] * xp[n, c, i + u, j + v]`` with ``xp``
    ``x`` zero-padded by :func:`dynamic_filter_padding` (a cross-correlation, like
    ``F.conv2d``). The batch is folded into the groups of a single depthwise convolution.

    Args:
        x: (N, C, H, W) float.
        filters: (N, C, k, k) float, one filter per image and channel.

    Returns:
        (N, C, H, W) float.

    Raises:
        ValueError: ``filters`` is not (N, C, k, k) for the N and C of ``x``.
    """
    n, c, h, w = x.shape
    k = filters.shape[-1]
    if filters.dim() != 4 or tuple(filters.shape[:3]) != (n, c, k):
        raise ValueError('dynamic_depthwise_conv: filters must be (N, C, k, k) for x of shape '
                         f'{tuple(x.shape)}, got {tuple(filters.shape)}')
    padded = F.pad(x.reshape(1, n * c, h, w), dynamic_filter_padding(k))
    out = F.conv2d(padded, filters.reshape(n * c, 1, k, k), groups=n * c)
    return out.view(n, c, h, w)


class DCM(nn.Module):
    """Dynamic convolutional module: per-image depthwise filters made from the pooled input.

    ``filter_gen_conv`` (a biased 1x1 conv) projects ``x`` average-pooled to
    ``filter_size`` x ``filter_size`` into one filter per output channel; the reduced input
    (``input_redu_conv``) is filtered with them (:func:`dynamic_depthwise_conv`), then
    normalised (``norm``), activated and, with ``fusion``, passed through ``fusion_conv``.

    Args:
        filter_size: Side k of the generated filters.
        fusion: Add ``fusion_conv`` at the end.
        in_channels: Input channels.
        channels: Output channels.
        conv_cfg: Conv config.
        norm_cfg: Norm config (None: no ``norm``).
        act_cfg: Activation config.
    """

    def __init__(self, filter_size: int, fusion: bool, in_channels: int, channels: int,
                 conv_cfg: Optional[dict], norm_cfg: Optional[dict],
                 act_cfg: Optional[dict]) -> None:
        super().__init__()
        self.filter_size = filter_size
        self.fusion = fusion
        self.in_channels = in_channels
        self.channels = channels
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.filter_gen_conv = nn.Conv2d(in_channels, channels, 1)
        self.input_redu_conv = ConvModule(in_channels, channels, 1, **cfg)
        self.norm = None if norm_cfg is None else build_norm_layer(norm_cfg, channels)[1]
        self.activate = nn.Identity() if act_cfg is None else build_activation_layer(act_cfg)
        if fusion:
            self.fusion_conv = ConvModule(channels, channels, 1, **cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, in_channels, H, W). Returns: (N, channels, H, W)."""
        filters = self.filter_gen_conv(F.adaptive_avg_pool2d(x, self.filter_size))
        out = dynamic_depthwise_conv(self.input_redu_conv(x), filters)
        if self.norm is not None:
            out = self.norm(out)
        out = self.activate(out)
        if self.fusion:
            out = self.fusion_conv(out)
        return out


@MODELS.register_module()
class DMHead(BaseDecodeHead):
    """DMNet head: one :class:`DCM` per filter size, concatenated with the input and fused
    by a 3x3 ``bottleneck``.

    Args:
        filter_sizes: Sides of the generated filters, one DCM each.
        fusion: Give every DCM its ``fusion_conv``.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, filter_sizes: Sequence[int] = (1, 3, 5, 7), fusion: bool = False,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        check_int(self.in_channels, 'DMHead: in_channels', 1)
        self.filter_sizes = check_int_sequence(filter_sizes, 'DMHead: filter_sizes', 1)
        self.fusion = fusion
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.dcm_modules = nn.ModuleList(
            DCM(size, fusion, self.in_channels, self.channels, **cfg)
            for size in self.filter_sizes)
        self.bottleneck = ConvModule(self.in_channels + len(self.filter_sizes) * self.channels,
                                     self.channels, 3, padding=1, **cfg)

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        return self.bottleneck(torch.cat([x, *(dcm(x) for dcm in self.dcm_modules)], dim=1))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, h, w) logits."""
        return self.cls_seg(self._forward_feature(inputs))
