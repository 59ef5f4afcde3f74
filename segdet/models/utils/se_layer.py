"""SELayer: squeeze-and-excitation channel gating (Hu et al., arXiv:1709.01507), as used in
MobileNetV3's blocks."""
import warnings
from typing import Optional, Sequence, Union

from mmcv.cnn import ConvModule
from torch import Tensor, nn

from segdet.utils.arg_checks import check_int

from .make_divisible import make_divisible

ActCfg = Union[dict, Sequence[dict]]
# mmcv's HSigmoid warns on every construction that its defaults changed in mmcv 1.4.4;
# segdet always passes bias and divisor, so the warning says nothing here.
_HSIGMOID_NOTE = 'In MMCV v1.4.4'


def se_squeeze_channels(channels: int, ratio: int) -> int:
    """Channels of the squeezed descriptor: ``channels // ratio`` rounded to a multiple of 8
    (at least 8), as mmseg's ``SELayer``."""
    return make_divisible(channels // ratio, 8)


def _two_act_cfgs(act_cfg: ActCfg) -> tuple[dict, dict]:
    """``act_cfg`` as the (squeeze, excite) pair of activation configs."""
    if isinstance(act_cfg, dict):
        return act_cfg, act_cfg
    if isinstance(act_cfg, (list, tuple)) and all(isinstance(c, dict) for c in act_cfg):
        if len(act_cfg) != 2:
            raise ValueError(f'SELayer: act_cfg must be one dict or two dicts, got '
                             f'{len(act_cfg)} dicts: {act_cfg!r}')
        return act_cfg[0], act_cfg[1]
    raise TypeError(f'SELayer: act_cfg must be a dict or a pair of dicts, got {act_cfg!r}')


class SELayer(nn.Module):
    """Squeeze (global average pool) and excite (two 1x1 convs) a gate per channel, then
    scale the input by it: ``x * act2(conv2(act1(conv1(mean_hw(x)))))``.

    Input and output are (N, channels, H, W); the gate is (N, channels, 1, 1). The two convs
    (``conv1``: channels -> squeezed, ``conv2``: squeezed -> channels, both with bias and no
    norm) are ``ConvModule`` s, so the state-dict names are mmseg's (``conv1.conv.weight``, ...).

    Args:
        channels: Input (and output) channels.
        ratio: Squeeze ratio; the squeezed width is ``make_divisible(channels // ratio, 8)``.
        conv_cfg: Conv config of the two 1x1 convs (None: ``nn.Conv2d``).
        act_cfg: Activation after each conv: one dict for both, or a pair (squeeze, excite).
            Default ReLU, then HSigmoid ``min(max((x + 3) / 6, 0), 1)``.
    """

    def __init__(self, channels: int, ratio: int = 16, conv_cfg: Optional[dict] = None,
                 act_cfg: ActCfg = (dict(type='ReLU'),
                                    dict(type='HSigmoid', bias=3.0, divisor=6.0))) -> None:
        super().__init__()
        check_int(channels, 'SELayer: channels', 1)
        check_int(ratio, 'SELayer: ratio', 1)
        squeeze_act, excite_act = _two_act_cfgs(act_cfg)
        squeezed = se_squeeze_channels(channels, ratio)
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message=_HSIGMOID_NOTE)
            self.conv1 = ConvModule(channels, squeezed, 1, conv_cfg=conv_cfg,
                                    act_cfg=squeeze_act)
            self.conv2 = ConvModule(squeezed, channels, 1, conv_cfg=conv_cfg,
                                    act_cfg=excite_act)

    def gate(self, x: Tensor) -> Tensor:
        """The (N, C, 1, 1) per-channel gate of (N, C, H, W) features."""
        return self.conv2(self.conv1(self.global_avgpool(x)))

    def forward(self, x: Tensor) -> Tensor:
        """Args: x (N, C, H, W). Returns: x scaled per channel by its gate, (N, C, H, W)."""
        return x * self.gate(x)
