"""A ResNet whose stage outputs pass through squeeze-and-excitation gates (arXiv:1709.01507)."""
from typing import Tuple

import torch
from torch import Tensor, nn

from segdet.models.backbones import ResNet
from segdet.registry import MODELS


class SqueezeExcite(nn.Module):
    """Channel gate: global average pool -> 1x1 (C/r) -> ReLU -> 1x1 (C) -> sigmoid -> scale."""

    def __init__(self, channels: int, ratio: int = 4) -> None:
        super().__init__()
        hidden = max(channels // ratio, 8)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        gate = torch.sigmoid(self.expand(torch.relu(self.reduce(x.mean((2, 3), keepdim=True)))))
        return x * gate


@MODELS.register_module()
class SEResNet(ResNet):
    """segdet's ``ResNet`` (same arguments) plus one SE gate per returned stage.

    The gates are new parameters (``se_gates.{i}``), so the ResNet part keeps segdet's /
    mmseg's key names and can be initialised from a plain ResNet checkpoint.

    Args:
        se_ratio: Channel reduction of the gates.
        **kwargs: ``ResNet`` arguments.
    """

    def __init__(self, se_ratio: int = 4, **kwargs) -> None:
        super().__init__(**kwargs)
        expansion = 1 if self.depth in (18, 34) else 4
        self.se_gates = nn.ModuleList(
            SqueezeExcite(self.base_channels * 2**i * expansion, se_ratio)
            for i in self.out_indices)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Returns the gated stage outputs of ``out_indices``."""
        return tuple(gate(out) for gate, out in zip(self.se_gates, super().forward(x)))
