"""Feature Pyramid Network (arXiv:1612.03144) with mmdetection 3.x's options and key names."""
from typing import Optional, Sequence, Union

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from segdet.registry import MODELS


@MODELS.register_module()
class FPN(BaseModule):
    """Lateral 1x1 convs, a top-down pathway (upsample and add), 3x3 output convs, and extra
    levels by max-pooling or stride-2 convs.

    Args:
        in_channels: Channels of each backbone output.
        out_channels: Channels of every pyramid level.
        num_outs: Number of outputs (levels beyond the used backbone levels are extra).
        start_level, end_level: Backbone outputs used (``end_level=-1``: up to the last).
        add_extra_convs: False (extra levels by ``max_pool2d(1, stride=2)``), True or
            'on_input' (first extra conv on the last used backbone output), 'on_lateral',
            'on_output'.
        relu_before_extra_convs: ReLU before every extra conv after the first.
        no_norm_on_lateral: No normalisation in the lateral convs.
        conv_cfg, norm_cfg, act_cfg: ConvModule settings (e.g. GN + ConvWS for GN+WS).
        upsample_cfg: ``F.interpolate`` arguments of the top-down pathway.

    Keys: ``lateral_convs.{i}.conv``, ``fpn_convs.{i}.conv`` (+ ``.gn``/``.bn`` with a norm), as
    in mmdetection, so its FPN checkpoints load unchanged.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, num_outs: int,
                 start_level: int = 0, end_level: int = -1,
                 add_extra_convs: Union[bool, str] = False,
                 relu_before_extra_convs: bool = False, no_norm_on_lateral: bool = False,
                 conv_cfg: Optional[dict] = None, norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = None,
                 upsample_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg or dict(type='Xavier', layer='Conv2d',
                                                   distribution='uniform'))
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(self.in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.upsample_cfg = dict(upsample_cfg or dict(mode='nearest'))
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(f'FPN: num_outs={num_outs} is fewer than the '
                                 f'{self.num_ins - start_level} backbone levels used')
        else:
            self.backbone_end_level = end_level + 1
            if end_level >= self.num_ins or num_outs != end_level - start_level + 1:
                raise ValueError(f'FPN: end_level={end_level} needs num_outs == '
                                 f'end_level - start_level + 1 and end_level < {self.num_ins}')
        self.start_level = start_level
        self.end_level = end_level
        if add_extra_convs is True:
            add_extra_convs = 'on_input'
        if add_extra_convs not in (False, 'on_input', 'on_lateral', 'on_output'):
            raise ValueError(f"FPN: add_extra_convs must be a bool, 'on_input', 'on_lateral' "
                             f"or 'on_output', got {add_extra_convs!r}")
        self.add_extra_convs = add_extra_convs

        common = dict(conv_cfg=conv_cfg, act_cfg=act_cfg)
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(
                self.in_channels[i], out_channels, 1,
                norm_cfg=None if no_norm_on_lateral else norm_cfg, inplace=False, **common))
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, padding=1,
                                             norm_cfg=norm_cfg, inplace=False, **common))
        extra_levels = num_outs - self.backbone_end_level + start_level
        if add_extra_convs and extra_levels >= 1:
            for i in range(extra_levels):
                in_ch = (self.in_channels[self.backbone_end_level - 1]
                         if i == 0 and add_extra_convs == 'on_input' else out_channels)
                self.fpn_convs.append(ConvModule(in_ch, out_channels, 3, stride=2, padding=1,
                                                 norm_cfg=norm_cfg, inplace=False, **common))

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Args: backbone outputs. Returns: ``num_outs`` maps of ``out_channels``, finest first."""
        if len(inputs) != self.num_ins:
            raise ValueError(f'FPN: expected {self.num_ins} inputs, got {len(inputs)}')
        laterals = [conv(inputs[i + self.start_level])
                    for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            if 'scale_factor' in self.upsample_cfg:
                up = F.interpolate(laterals[i], **self.upsample_cfg)
            else:
                up = F.interpolate(laterals[i], size=laterals[i - 1].shape[2:],
                                   **self.upsample_cfg)
            laterals[i - 1] = laterals[i - 1] + up
        used = len(laterals)
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used)]
        if self.num_outs > used:
            if not self.add_extra_convs:
                for _ in range(self.num_outs - used):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                source = {'on_input': inputs[self.backbone_end_level - 1],
                          'on_lateral': laterals[-1],
                          'on_output': outs[-1]}[self.add_extra_convs]
                outs.append(self.fpn_convs[used](source))
                for i in range(used + 1, self.num_outs):
                    x = F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
                    outs.append(self.fpn_convs[i](x))
        return tuple(outs)
