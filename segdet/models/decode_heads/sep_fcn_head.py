"""DepthwiseSeparableFCNHead: the FCN head of Fast-SCNN (arXiv:1902.04502)."""
from typing import Optional

from mmcv.cnn import DepthwiseSeparableConvModule
from torch import nn

from segdet.registry import MODELS

from .fcn_head import FCNHead


@MODELS.register_module()
class DepthwiseSeparableFCNHead(FCNHead):
    """:class:`FCNHead` whose convs (``convs.{i}`` and ``conv_cat``) are depthwise-separable:
    a ``kernel_size`` depthwise conv then a 1x1 pointwise conv, each with its norm
    (``depthwise_conv`` / ``pointwise_conv`` in the checkpoints).

    Input: the (N, in_channels, h, w) map at ``in_index``; output (N, out_channels, h, w)
    logits.

    Args:
        dw_act_cfg: Activation after each depthwise conv; None for none (mmseg's default),
            ``'default'`` for ``act_cfg``. The pointwise convs use ``act_cfg``.
        **kwargs: :class:`FCNHead` arguments, but ``dilation`` must stay 1.

    Raises:
        NotImplementedError: ``dilation`` other than 1 (mmseg builds the separable convs
            undilated whatever it says; segdet refuses rather than ignore it).
    """

    def __init__(self, dw_act_cfg: Optional[dict] = None, **kwargs) -> None:
        if kwargs.get('dilation', 1) != 1:
            raise NotImplementedError(
                f"DepthwiseSeparableFCNHead: dilation={kwargs['dilation']} is not supported; "
                'its separable convs are undilated (dilation=1)')
        super().__init__(**kwargs)
        self.dw_act_cfg = dw_act_cfg
        if self.num_convs > 0:
            self.convs = nn.Sequential(*[
                self._separable(self.in_channels if i == 0 else self.channels)
                for i in range(self.num_convs)])
        if self.concat_input:
            self.conv_cat = self._separable(self.in_channels + self.channels)

    def _separable(self, in_channels: int) -> DepthwiseSeparableConvModule:
        """A ``kernel_size`` depthwise-separable ConvModule pair to ``channels``."""
        return DepthwiseSeparableConvModule(
            in_channels, self.channels, kernel_size=self.kernel_size,
            padding=self.kernel_size // 2, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg, dw_act_cfg=self.dw_act_cfg)
