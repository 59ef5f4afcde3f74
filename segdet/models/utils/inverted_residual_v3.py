"""The inverted residual block of MobileNetV3 (Howard et al., arXiv:1905.02244).

Parameter names follow mmsegmentation 1.x's ``InvertedResidualV3`` (``expand_conv``,
``depthwise_conv``, ``se``, ``linear_conv``, each a ``ConvModule``), so mmseg's MobileNetV3
checkpoints load unchanged.
"""
from typing import Optional

from mmcv.cnn import ConvModule
from torch import Tensor, nn
from torch.utils import checkpoint as cp

from segdet.utils.arg_checks import check_int

from .se_layer import SELayer

# TensorFlow's 'same' padding (pads bottom/right more for even inputs): the stride-2
# depthwise convs of the ImageNet weights were trained with it.
ADAPTIVE_PADDING_CONV = dict(type='Conv2dAdaptivePadding')


class InvertedResidualV3(nn.Module):
    """1x1 expand conv (optional), kxk depthwise conv (stride, dilation), squeeze-excite
    (optional), 1x1 linear projection (norm, no activation); the input is added back when
    the block keeps the shape (``stride == 1`` and ``in_channels == out_channels``).

    Input (N, in_channels, H, W) float; output (N, out_channels, ceil(H / stride),
    ceil(W / stride)) float.

    A stride-2 depthwise conv pads like TensorFlow's 'same' (mmcv's ``Conv2dAdaptivePadding``,
    as mmseg); a stride-1 one pads ``dilation * (kernel_size // 2)`` on each side, which keeps
    the size (for odd kernels the same numbers as 'same' padding).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        mid_channels: Channels of the depthwise conv (the expanded width).
        kernel_size: Kernel size of the depthwise conv (odd).
        stride: Stride of the depthwise conv, 1 or 2.
        se_cfg: ``SELayer`` arguments (``channels`` must be ``mid_channels``); None: no SE.
        with_expand_conv: Build the 1x1 expand conv; without it ``mid_channels`` must equal
            ``in_channels``.
        conv_cfg: Conv config; None for ``nn.Conv2d``.
        norm_cfg: Norm config.
        act_cfg: Activation after the expand and depthwise convs.
        with_cp: Gradient checkpointing of the block (saves memory, costs a recompute).
        dilation: Dilation of the depthwise conv (segdet's argument; mmseg's backbone sets
            the dilation on the built conv instead). 1 is mmseg's block.
        residual: Add the input to the output. None (mmseg's block): when the shape allows
            it (``stride == 1`` and ``in_channels == out_channels``). ``False`` keeps a
            shape-preserving block without one: mmseg's dilated MobileNetV3 decides at
            stride 2 and then sets the stride to 1.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 mid_channels: int,
                 kernel_size: int = 3,
                 stride: int = 1,
                 se_cfg: Optional[dict] = None,
                 with_expand_conv: bool = True,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 with_cp: bool = False,
                 dilation: int = 1,
                 residual: Optional[bool] = None) -> None:
        super().__init__()
        name = 'InvertedResidualV3'
        for arg, value in (('in_channels', in_channels), ('out_channels', out_channels),
                           ('mid_channels', mid_channels), ('kernel_size', kernel_size),
                           ('dilation', dilation)):
            check_int(value, f'{name}: {arg}', 1)
        if stride not in (1, 2):
            raise ValueError(f'{name}: stride must be 1 or 2, got {stride!r}')
        if se_cfg is not None and not isinstance(se_cfg, dict):
            raise TypeError(f'{name}: se_cfg must be a dict or None, got {se_cfg!r}')
        if se_cfg is not None and se_cfg.get('channels') != mid_channels:
            raise ValueError(f"{name}: se_cfg['channels'] must be mid_channels={mid_channels} "
                             f"(the SE layer gates the depthwise output), got {se_cfg!r}")
        if not with_expand_conv and mid_channels != in_channels:
            raise ValueError(f'{name}: with_expand_conv=False needs mid_channels == '
                             f'in_channels, got mid_channels={mid_channels}, '
                             f'in_channels={in_channels}')
        shape_kept = stride == 1 and in_channels == out_channels
        if residual and not shape_kept:
            raise ValueError(f'{name}: residual=True needs stride 1 and in_channels == '
                             f'out_channels, got stride={stride}, in_channels={in_channels}, '
                             f'out_channels={out_channels}')
        self.with_res_shortcut = shape_kept if residual is None else residual
        self.with_cp = with_cp
        self.with_se = se_cfg is not None
        self.with_expand_conv = with_expand_conv

        if with_expand_conv:
            self.expand_conv = ConvModule(in_channels, mid_channels, 1, conv_cfg=conv_cfg,
                                          norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.depthwise_conv = ConvModule(
            mid_channels, mid_channels, kernel_size, stride=stride,
            padding=0 if stride == 2 else dilation * (kernel_size // 2), dilation=dilation,
            groups=mid_channels, conv_cfg=ADAPTIVE_PADDING_CONV if stride == 2 else conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg)
        if self.with_se:
            self.se = SELayer(**se_cfg)
        self.linear_conv = ConvModule(mid_channels, out_channels, 1, conv_cfg=conv_cfg,
                                      norm_cfg=norm_cfg, act_cfg=None)

    def _inner_forward(self, x: Tensor) -> Tensor:
        out = self.expand_conv(x) if self.with_expand_conv else x
        out = self.depthwise_conv(out)
        if self.with_se:
            out = self.se(out)
        out = self.linear_conv(out)
        return x + out if self.with_res_shortcut else out

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, in_channels, H, W). Returns (N, out_channels, H', W')."""
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)
