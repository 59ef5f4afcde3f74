"""ConvFCBBoxHead: shared convs and fully connected layers before the box predictors."""
from typing import Optional

from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.registry import MODELS

from .bbox_head import BBoxHead


@MODELS.register_module()
class ConvFCBBoxHead(BBoxHead):
    """``shared_convs`` (3x3 ConvModules) then ``shared_fcs`` (Linear + ReLU) then the
    predictors (mmdetection's shared branch; separate cls/reg branches are not supported).

    Args:
        num_shared_convs, num_shared_fcs: Depth of the shared branch.
        conv_out_channels, fc_out_channels: Widths.
        conv_cfg, norm_cfg: Of the convs (e.g. ``dict(type='GN', num_groups=32)`` for the
            Detectron GN recipe; the convs then have no bias).
    """

    def __init__(self, num_shared_convs: int = 0, num_shared_fcs: int = 0,
                 num_cls_convs: int = 0, num_cls_fcs: int = 0, num_reg_convs: int = 0,
                 num_reg_fcs: int = 0, conv_out_channels: int = 256,
                 fc_out_channels: int = 1024, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, init_cfg=None, **kwargs) -> None:
        if num_cls_convs or num_cls_fcs or num_reg_convs or num_reg_fcs:
            raise NotImplementedError('ConvFCBBoxHead: separate cls/reg branches are not '
                                      'supported; use num_shared_convs / num_shared_fcs')
        if num_shared_convs + num_shared_fcs == 0:
            raise ValueError('ConvFCBBoxHead needs at least one shared conv or fc')
        if kwargs.get('with_avg_pool', False) and num_shared_fcs == 0:
            raise ValueError('ConvFCBBoxHead: with_avg_pool needs shared fcs')
        self.num_shared_convs = num_shared_convs
        self.num_shared_fcs = num_shared_fcs
        self.conv_out_channels = conv_out_channels
        self.fc_out_channels = fc_out_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        if init_cfg is None:
            init_cfg = [dict(type='Normal', std=0.01, override=dict(name='fc_cls')),
                        dict(type='Normal', std=0.001, override=dict(name='fc_reg')),
                        dict(type='Xavier', distribution='uniform',
                             override=[dict(name='shared_fcs')])]
        super().__init__(init_cfg=init_cfg, **kwargs)

    def _build_branches(self) -> None:
        channels = self.in_channels
        self.shared_convs = nn.ModuleList([
            ConvModule(channels if i == 0 else self.conv_out_channels, self.conv_out_channels,
                       3, padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)
            for i in range(self.num_shared_convs)])
        if self.num_shared_convs:
            channels = self.conv_out_channels
        flat = channels if self.with_avg_pool else channels * self.roi_feat_area
        self.shared_fcs = nn.ModuleList([
            nn.Linear(flat if i == 0 else self.fc_out_channels, self.fc_out_channels)
            for i in range(self.num_shared_fcs)])
        self.relu = nn.ReLU(inplace=True)
        last = self.fc_out_channels if self.num_shared_fcs else flat
        self.cls_last_dim = self.reg_last_dim = last

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(R, C, S, S) RoI features -> scores (R, num_classes + 1), deltas (R, 4 num_classes)."""
        for conv in self.shared_convs:
            x = conv(x)
        if self.num_shared_fcs:
            if self.avg_pool is not None:
                x = self.avg_pool(x)
            x = x.flatten(1)
            for fc in self.shared_fcs:
                x = self.relu(fc(x))
        else:
            x = x.flatten(1)
        return self.fc_cls(x), self.fc_reg(x)


@MODELS.register_module()
class Shared2FCBBoxHead(ConvFCBBoxHead):
    """Two shared 1024-d fully connected layers (the FPN R-CNN box head)."""

    def __init__(self, fc_out_channels: int = 1024, **kwargs) -> None:
        super().__init__(num_shared_convs=0, num_shared_fcs=2, fc_out_channels=fc_out_channels,
                         **kwargs)


@MODELS.register_module()
class Shared4Conv1FCBBoxHead(ConvFCBBoxHead):
    """Four shared 3x3 convs and one fc (the Detectron GN "4conv1fc" box head)."""

    def __init__(self, fc_out_channels: int = 1024, **kwargs) -> None:
        super().__init__(num_shared_convs=4, num_shared_fcs=1, fc_out_channels=fc_out_channels,
                         **kwargs)
