"""A light decoder: one conv on the deepest features, one on the stride-4 ones, one to fuse."""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from segdet.models.decode_heads.decode_head import BaseDecodeHead
from segdet.registry import MODELS


@MODELS.register_module()
class LightFuseHead(BaseDecodeHead):
    """DeepLabV3+-style decoder without ASPP: ``context`` (3x3 on ``in_index``), ``detail``
    (1x1 on ``low_index``), upsample, concatenate, ``fuse`` (3x3), classify.

    Args:
        low_index: Index of the stride-4 features among the backbone outputs.
        low_in_channels: Their channels.
        low_channels: Channels of ``detail``.
        **kwargs: ``BaseDecodeHead`` arguments (``in_channels``/``in_index`` of the deepest
            features, ``channels``, ``num_classes``, ...).
    """

    def __init__(self, low_index: int = 0, low_in_channels: int = 64, low_channels: int = 16,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.low_index = low_index
        common = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.context = ConvModule(self.in_channels, self.channels, 3, padding=1, **common)
        self.detail = ConvModule(low_in_channels, low_channels, 1, **common)
        self.fuse = ConvModule(self.channels + low_channels, self.channels, 3, padding=1, **common)

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: backbone outputs. Returns: (N, num_classes, h4, w4) logits at stride 4."""
        low = self.detail(inputs[self.low_index])
        context = F.interpolate(self.context(self._transform_inputs(inputs)), size=low.shape[2:],
                                mode='bilinear', align_corners=self.align_corners)
        return self.cls_seg(self.fuse(torch.cat([context, low], dim=1)))
