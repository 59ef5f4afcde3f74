"""BlockFCNHead: an FCNHead with a context block between its two convs (NLHead, DNLHead,
GCHead)."""
from typing import Sequence

import torch
from torch import Tensor, nn

from segdet.models.utils.feature_checks import check_selected_channels

from .fcn_head import FCNHead


class BlockFCNHead(FCNHead):
    """``convs.0 -> block -> convs.1``, then ``conv_cat`` over [input, features].

    Subclasses build their block under mmseg's attribute name (``nl_block``, ``dnl_block``,
    ``gc_block``) and return it from :meth:`context_block`. The head always has two convs, as
    mmseg's (``num_convs`` is not an argument).

    Args:
        **kwargs: :class:`FCNHead` arguments but ``num_convs``.
    """

    def __init__(self, **kwargs) -> None:
        if 'num_convs' in kwargs:
            raise TypeError(f'{type(self).__name__}: num_convs is fixed to 2 (a conv before and '
                            f'one after the block), got num_convs={kwargs["num_convs"]!r}')
        super().__init__(num_convs=2, **kwargs)

    def context_block(self) -> nn.Module:
        """The block between the two convs: (N, channels, h, w) -> same shape."""
        raise NotImplementedError

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before ``cls_seg``: (N, channels, h, w)."""
        x = self._transform_inputs(inputs)
        check_selected_channels(type(self).__name__, [x], [self.in_channels], [self.in_index])
        feats = self.convs[1](self.context_block()(self.convs[0](x)))
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats
