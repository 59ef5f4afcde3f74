"""CCHead: recurrent criss-cross attention (CCNet, arXiv:1811.11721)."""
from typing import Sequence

import torch
from torch import Tensor

from segdet.ops import CrissCrossAttention
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int

from .fcn_head import FCNHead


@MODELS.register_module()
class CCHead(FCNHead):
    """An :class:`FCNHead` with two convs and criss-cross attention between them.

    ``convs.0`` (3x3), then ``recurrence`` passes of the same :class:`CrissCrossAttention`
    (``cca``: two passes let every pixel reach every other), ``convs.1``, and with
    ``concat_input`` the ``conv_cat`` over [input, features].

    Args:
        recurrence: Number of attention passes (shared weights).
        **kwargs: :class:`FCNHead` arguments except ``num_convs`` (always 2).
    """

    def __init__(self, recurrence: int = 2, **kwargs) -> None:
        if 'num_convs' in kwargs:
            raise TypeError(f'CCHead: num_convs is always 2, got num_convs='
                            f'{kwargs["num_convs"]!r}')
        super().__init__(num_convs=2, **kwargs)
        if self.channels < 8:
            raise ValueError('CCHead: channels must be >= 8 (the attention\'s query and key '
                             f'have channels // 8), got {self.channels}')
        self.recurrence = check_int(recurrence, 'CCHead: recurrence', 0)
        self.cca = CrissCrossAttention(self.channels)

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        feats = self.convs[0](x)
        for _ in range(self.recurrence):
            feats = self.cca(feats)
        feats = self.convs[1](feats)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats
