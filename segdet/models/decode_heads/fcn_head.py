"""FCNHead: a stack of convolutions (FCN, arXiv:1411.4038); also the usual auxiliary head."""
from typing import Sequence

import torch
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int

from .decode_head import BaseDecodeHead


@MODELS.register_module()
class FCNHead(BaseDecodeHead):
    """``num_convs`` ConvModules, optionally followed by a conv over [input, features].

    Args:
        num_convs: Number of convs (``convs.{i}``); 0 needs in_channels == channels.
        kernel_size: Kernel size of every conv.
        concat_input: Concatenate the input with the conv output and fuse them with
            ``conv_cat`` before classifying.
        dilation: Dilation of the ``convs``.
        **kwargs: :class:`BaseDecodeHead` arguments.
    """

    def __init__(self, num_convs: int = 2, kernel_size: int = 3, concat_input: bool = True,
                 dilation: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        check_int(num_convs, 'FCNHead: num_convs', 0)
        check_int(dilation, 'FCNHead: dilation', 1)
        if num_convs == 0 and self.in_channels != self.channels:
            raise ValueError('FCNHead: num_convs=0 needs in_channels == channels, got '
                             f'{self.in_channels} and {self.channels}')
        self.num_convs = num_convs
        self.kernel_size = kernel_size
        self.concat_input = concat_input
        self.dilation = dilation
        layers = [
            ConvModule(self.in_channels if i == 0 else self.channels, self.channels,
                       kernel_size=kernel_size, padding=(kernel_size // 2) * dilation,
                       dilation=dilation, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                       act_cfg=self.act_cfg)
            for i in range(num_convs)]
        self.convs = nn.Sequential(*layers) if layers else nn.Identity()
        if concat_input:
            self.conv_cat = ConvModule(
                self.in_channels + self.channels, self.channels, kernel_size=kernel_size,
                padding=kernel_size // 2, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg)

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        feats = self.convs(x)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: multi-level features. Returns: (N, out_channels, h, w) logits."""
        return self.cls_seg(self._forward_feature(inputs))
