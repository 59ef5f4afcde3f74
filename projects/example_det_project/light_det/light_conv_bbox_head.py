"""LightConvBBoxHead: depthwise-separable convs and a narrow flattened feature instead of the two
large fully connected layers of ``Shared2FCBBoxHead``."""
from typing import Optional

from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.models.roi_heads.bbox_heads import BBoxHead
from segdet.registry import MODELS


@MODELS.register_module()
class LightConvBBoxHead(BBoxHead):
    """An R-CNN box head of ``num_convs`` depthwise-separable blocks (3x3 depthwise conv, 1x1
    pointwise conv, ReLU) that narrow the RoI features to ``conv_out_channels``, then the two
    linear predictors on the flattened (conv_out_channels * S * S) map. Flattening, not
    pooling, keeps where in the RoI the features are, which the box deltas need.

    Only the layers before the predictors change: targets and losses (``loss_and_target``:
    ``loss_cls``, ``acc``, ``loss_bbox``) and ``predict_by_feat`` are ``BBoxHead``'s, so
    ``StandardRoIHead`` uses this head like any other. On 7x7 RoIs of 64 channels (the demo's)
    it has about 4 k weights before the predictors and 30 k in all, where the demo's 256-d
    ``Shared2FCBBoxHead`` has about 870 k.

    Input (R, in_channels, S, S) RoI features; output (R, num_classes + 1) scores (background
    last) and (R, 4 * num_classes) deltas ((R, 4) with ``reg_class_agnostic``).

    Args:
        num_convs: Number of depthwise-separable blocks (at least 1).
        conv_out_channels: Channels of the pointwise convs; the predictors see
            ``conv_out_channels * S * S`` features.
        norm_cfg: Norm after each conv (None: convs with bias). Batch norm sees every sampled
            RoI of the batch as a sample.
        **kwargs: ``BBoxHead`` arguments (``in_channels``, ``roi_feat_size``, ``num_classes``,
            ``bbox_coder``, ``reg_class_agnostic``, ``loss_cls``, ``loss_bbox``, ``init_cfg``).
    """

    def __init__(self, num_convs: int = 2, conv_out_channels: int = 32,
                 norm_cfg: Optional[dict] = None, **kwargs) -> None:
        if num_convs < 1:
            raise ValueError(f'LightConvBBoxHead: num_convs must be >= 1, got {num_convs}')
        if kwargs.get('with_avg_pool', False):
            raise ValueError('LightConvBBoxHead keeps the RoI map; leave with_avg_pool False')
        # BBoxHead.__init__ calls _build_branches, which reads these.
        self.num_convs = num_convs
        self.conv_out_channels = conv_out_channels
        self.norm_cfg = norm_cfg
        super().__init__(**kwargs)

    def _build_branches(self) -> None:
        """The conv blocks; the predictors then see ``conv_out_channels * S * S`` features."""
        blocks = []
        channels = self.in_channels
        for _ in range(self.num_convs):
            blocks.append(nn.Sequential(
                ConvModule(channels, channels, 3, padding=1, groups=channels,
                           norm_cfg=self.norm_cfg, act_cfg=None),
                ConvModule(channels, self.conv_out_channels, 1, norm_cfg=self.norm_cfg)))
            channels = self.conv_out_channels
        self.convs = nn.Sequential(*blocks)
        self.cls_last_dim = self.reg_last_dim = self.conv_out_channels * self.roi_feat_area

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Predict class scores and box deltas of each RoI.

        Args:
            x: (R, in_channels, S, S) RoI features (R may be 0).

        Returns:
            Scores (R, num_classes + 1) and deltas (R, 4 * num_classes), float.
        """
        flat = self.convs(x).flatten(1)  # (R, conv_out_channels * S * S)
        return self.fc_cls(flat), self.fc_reg(flat)
