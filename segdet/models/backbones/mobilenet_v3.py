"""MobileNetV3 backbone (Howard et al., "Searching for MobileNetV3", arXiv:1905.02244), at
output stride 8 for segmentation ("D8", as mmsegmentation's LR-ASPP configs use it).

Constructor arguments, layer settings and state-dict names follow mmsegmentation 1.x
(``layer0`` stem, ``layer1`` .. ``layerN`` inverted residual blocks, ``layerN+1`` last 1x1
conv), so its configs and checkpoints work unchanged.
"""
from typing import List, Optional, Sequence, Tuple, Union

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.utils.inverted_residual_v3 import ADAPTIVE_PADDING_CONV, InvertedResidualV3
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int, check_int_sequence

from .resnet import resnet_init_cfg, set_frozen

MultiConfig = Union[dict, List[dict], None]
STEM_CHANNELS = 16
# Channels of the last 1x1 conv, whatever reduction_factor is.
LAST_CHANNELS = {'small': 576, 'large': 960}
# Index (into arch_settings) of the first block of the last stage, which reduction_factor
# narrows.
REDUCED_FROM = {'small': 8, 'large': 12}
OUTPUT_STRIDE = 8


def dilate_to_output_stride(strides: Sequence[int],
                            output_stride: int = OUTPUT_STRIDE) -> Tuple[List[int], List[int]]:
    """Strides and dilations of a chain of layers that stops downsampling at ``output_stride``.

    A layer whose stride would take the total stride past ``output_stride`` gets stride 1, and
    it and every later layer have their dilation multiplied by the dropped stride, so the
    receptive field grows as in the strided network.

    Args:
        strides: Stride of each layer, in order.
        output_stride: The largest total stride kept.

    Returns:
        ``(strides, dilations)``, one entry per layer. E.g. (2, 2, 2, 2, 1, 2, 1) at 8 gives
        strides (2, 2, 2, 1, 1, 1, 1) and dilations (1, 1, 1, 2, 2, 4, 4).
    """
    total, dilation = 1, 1
    new_strides, dilations = [], []
    for stride in strides:
        if total * stride > output_stride:
            dilation *= stride
            stride = 1
        total *= stride
        new_strides.append(stride)
        dilations.append(dilation)
    return new_strides, dilations


@MODELS.register_module()
class MobileNetV3(BaseModule):
    """MobileNetV3 small or large with its last two downsamplings replaced by dilation.

    Input (N, 3, H, W) float. Output: a tuple with one float tensor per entry of
    ``out_indices``, in order; layer i is (N, C_i, H / s_i, W / s_i) (rounded up), with
    ``s_i = min(8, product of the strides up to layer i)``:

    - small: layer0 16 ch stride 2, layer1 16 ch stride 4, layer2-3 24 ch stride 8,
      layer4-6 40 ch, layer7-8 48 ch, layer9-11 96 ch, layer12 576 ch (all stride 8);
    - large: layer0-1 16 ch stride 2, layer2-3 24 ch stride 4, layer4-6 40 ch stride 8,
      layer7-10 80 ch, layer11-12 112 ch, layer13-15 160 ch, layer16 960 ch (all stride 8).

    mmseg's LR-ASPP configs read (0, 1, 12) (small) and (1, 3, 16) (large).

    Args:
        arch: ``'small'`` or ``'large'`` (:attr:`arch_settings`).
        conv_cfg: Conv config of the blocks' convs; None for ``nn.Conv2d``.
        norm_cfg: Norm config.
        out_indices: Layers whose outputs are returned (0 stem .. last 1x1 conv).
        frozen_stages: Freeze layers 0..k (eval mode, no gradients); -1 freezes nothing.
        reduction_factor: Divide the mid and output channels of the last stage's blocks
            (small: layer9-11, large: layer13-15) by this (an int >= 1).
        norm_eval: Keep every BatchNorm in eval mode (frozen running stats) in training.
        with_cp: Gradient checkpointing inside the blocks.
        pretrained: Deprecated alias of ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: mmengine init config; None: Kaiming convs, norm weights 1.
    """

    # One row per block: [kernel size, mid channels, out channels, with SE, activation, stride]
    arch_settings = {
        'small': [[3, 16, 16, True, 'ReLU', 2],
                  [3, 72, 24, False, 'ReLU', 2],
                  [3, 88, 24, False, 'ReLU', 1],
                  [5, 96, 40, True, 'HSwish', 2],
                  [5, 240, 40, True, 'HSwish', 1],
                  [5, 240, 40, True, 'HSwish', 1],
                  [5, 120, 48, True, 'HSwish', 1],
                  [5, 144, 48, True, 'HSwish', 1],
                  [5, 288, 96, True, 'HSwish', 2],
                  [5, 576, 96, True, 'HSwish', 1],
                  [5, 576, 96, True, 'HSwish', 1]],
        'large': [[3, 16, 16, False, 'ReLU', 1],
                  [3, 64, 24, False, 'ReLU', 2],
                  [3, 72, 24, False, 'ReLU', 1],
                  [5, 72, 40, True, 'ReLU', 2],
                  [5, 120, 40, True, 'ReLU', 1],
                  [5, 120, 40, True, 'ReLU', 1],
                  [3, 240, 80, False, 'HSwish', 2],
                  [3, 200, 80, False, 'HSwish', 1],
                  [3, 184, 80, False, 'HSwish', 1],
                  [3, 184, 80, False, 'HSwish', 1],
                  [3, 480, 112, True, 'HSwish', 1],
                  [3, 672, 112, True, 'HSwish', 1],
                  [5, 672, 160, True, 'HSwish', 2],
                  [5, 960, 160, True, 'HSwish', 1],
                  [5, 960, 160, True, 'HSwish', 1]],
    }  # yapf: disable

    def __init__(self,
                 arch: str = 'small',
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 out_indices: Sequence[int] = (0, 1, 12),
                 frozen_stages: int = -1,
                 reduction_factor: int = 1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: MultiConfig = None) -> None:
        resolved_init_cfg, _ = resnet_init_cfg(pretrained, init_cfg)
        super().__init__(resolved_init_cfg)
        self._check_args(arch, out_indices, frozen_stages, reduction_factor)
        self.pretrained = pretrained
        self.arch = arch
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.reduction_factor = reduction_factor
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.layers = self._make_layer()
        self._freeze_stages()

    @classmethod
    def num_layers(cls, arch: str) -> int:
        """Layers of ``arch``: the stem, one per block, the last 1x1 conv."""
        return len(cls.arch_settings[arch]) + 2

    def _check_args(self, arch: str, out_indices: Sequence[int], frozen_stages: int,
                    reduction_factor: int) -> None:
        if arch not in self.arch_settings:  # a name that picks what to build, like depth
            raise KeyError(f'MobileNetV3: arch={arch!r} is not one of '
                           f'{sorted(self.arch_settings)}')
        last = self.num_layers(arch) - 1
        indices = check_int_sequence(out_indices, 'MobileNetV3: out_indices', 0)
        if max(indices) > last:
            raise ValueError(f'MobileNetV3: out_indices={tuple(out_indices)} must be layer '
                             f'indices in [0, {last}] for arch={arch!r} (layer0 stem, layer1-'
                             f'{last - 1} blocks, layer{last} last conv)')
        check_int(frozen_stages, 'MobileNetV3: frozen_stages', -1)
        if frozen_stages > last:
            raise ValueError(f'MobileNetV3: frozen_stages must be in [-1, {last}] for '
                             f'arch={arch!r}, got {frozen_stages}')
        check_int(reduction_factor, 'MobileNetV3: reduction_factor', 1)
        narrowest = min(row[2] for row in self.arch_settings[arch][REDUCED_FROM[arch]:])
        if narrowest // reduction_factor < 1:
            raise ValueError(f'MobileNetV3: reduction_factor={reduction_factor} leaves 0 '
                             f'channels in the last stage of arch={arch!r} ({narrowest} '
                             f'channels); use a factor in [1, {narrowest}]')

    def _make_layer(self) -> List[str]:
        settings = self.arch_settings[self.arch]
        strides, dilations = dilate_to_output_stride(
            [2] + [row[5] for row in settings] + [1])
        layers = []
        self.add_module('layer0', ConvModule(
            3, STEM_CHANNELS, 3, stride=strides[0], padding=1, conv_cfg=ADAPTIVE_PADDING_CONV,
            norm_cfg=self.norm_cfg, act_cfg=dict(type='HSwish')))
        layers.append('layer0')

        in_channels = STEM_CHANNELS
        for i, (kernel_size, mid_channels, out_channels, with_se, act, stride) in \
                enumerate(settings):
            if i >= REDUCED_FROM[self.arch]:
                mid_channels //= self.reduction_factor
                out_channels //= self.reduction_factor
            se_cfg = dict(channels=mid_channels, ratio=4,
                          act_cfg=(dict(type='ReLU'),
                                   dict(type='HSigmoid', bias=3.0, divisor=6.0))) \
                if with_se else None
            layer = InvertedResidualV3(
                in_channels, out_channels, mid_channels, kernel_size=kernel_size,
                stride=strides[i + 1], dilation=dilations[i + 1], se_cfg=se_cfg,
                with_expand_conv=in_channels != mid_channels, conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg, act_cfg=dict(type=act), with_cp=self.with_cp,
                # a block dilated in place of its stride keeps the stride-2 block's lack
                # of a shortcut (mmseg; it matters only with reduction_factor=2, small)
                residual=None if strides[i + 1] == stride else False)
            self.add_module(f'layer{i + 1}', layer)
            layers.append(f'layer{i + 1}')
            in_channels = out_channels

        name = f'layer{len(settings) + 1}'
        self.add_module(name, ConvModule(
            in_channels, LAST_CHANNELS[self.arch], 1, dilation=dilations[-1],
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=dict(type='HSwish')))
        layers.append(name)
        return layers

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Args: x (N, 3, H, W). Returns: the ``out_indices`` layers' outputs, in order."""
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            set_frozen(getattr(self, f'layer{i}'))

    def train(self, mode: bool = True) -> 'MobileNetV3':
        """Set the mode, keeping frozen layers (and, with ``norm_eval``, every BN) in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
