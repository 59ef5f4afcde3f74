"""The inverted residual block of MobileNetV2 (Sandler et al. 2018), also used by Fast-SCNN.

Parameter names follow mmsegmentation 1.x (``conv.0`` .. ``conv.2``, each a ``ConvModule``
with ``conv`` and ``bn``), so mmseg / mmcls MobileNetV2 checkpoints load unchanged.
"""
from typing import Optional

import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor
from torch.utils import checkpoint as cp


def expanded_channels(in_channels: int, expand_ratio: float) -> int:
    """Width of the block's hidden (depthwise) layer: ``round(in_channels * expand_ratio)``.

    Raises:
        ValueError: the width rounds below 1 channel.
    """
    hidden = int(round(in_channels * expand_ratio))
    if hidden < 1:
        raise ValueError(
            f'InvertedResidual: expand_ratio={expand_ratio} with in_channels={in_channels} '
            f'gives a hidden layer of {hidden} channels; in_channels * expand_ratio must round '
            'to at least 1')
    return hidden


class InvertedResidual(nn.Module):
    """1x1 expand conv (absent when ``expand_ratio == 1``), 3x3 depthwise conv (stride,
    dilation), 1x1 linear projection (norm, no activation); the input is added back when the
    block keeps the shape (``stride == 1`` and ``in_channels == out_channels``).

    Input (N, in_channels, H, W) float; output (N, out_channels, ceil(H / stride),
    ceil(W / stride)) float.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        stride: Stride of the depthwise conv, 1 or 2.
        expand_ratio: Hidden width = ``round(in_channels * expand_ratio)``.
        dilation: Dilation (and padding) of the depthwise conv.
        conv_cfg: Conv config; None for ``nn.Conv2d``.
        norm_cfg: Norm config.
        act_cfg: Activation after the expand and depthwise convs (ReLU6 by default).
        with_cp: Gradient checkpointing of the block (saves memory, costs a recompute).
        **kwargs: Further ``ConvModule`` arguments for the three convs.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 expand_ratio: float,
                 dilation: int = 1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU6'),
                 with_cp: bool = False,
                 **kwargs) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'InvertedResidual: stride must be 1 or 2, got {stride}')
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f'InvertedResidual: in_channels={in_channels} and out_channels='
                             f'{out_channels} must both be >= 1')
        self.stride = stride
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = expanded_channels(in_channels, expand_ratio)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, **kwargs)

        layers = []
        if expand_ratio != 1:
            layers.append(ConvModule(in_channels, hidden, 1, act_cfg=act_cfg, **common))
        layers.append(ConvModule(hidden, hidden, 3, stride=stride, padding=dilation,
                                 dilation=dilation, groups=hidden, act_cfg=act_cfg, **common))
        # Linear bottleneck: no activation after the projection.
        layers.append(ConvModule(hidden, out_channels, 1, act_cfg=None, **common))
        self.conv = nn.Sequential(*layers)

    def _inner_forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, in_channels, H, W). Returns (N, out_channels, H', W')."""
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)
