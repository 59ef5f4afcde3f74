"""ResNet backbones (V1b = torchvision/pytorch style or caffe style, V1c, V1d) for both families.

Arguments, defaults and parameter names follow mmsegmentation 1.x (``multi_grid``,
``contract_dilation``) and mmdetection 3.x, so their configs and checkpoints work unchanged:
e.g. the "D8" segmentation setting is ``ResNetV1c(depth=50, strides=(1, 2, 1, 1),
dilations=(1, 1, 2, 4), contract_dilation=True)`` and Faster R-CNN's is
``ResNet(depth=50, frozen_stages=1, norm_eval=True)``.
"""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Type, Union

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.utils.res_layer import ResLayer
from segdet.registry import MODELS
from .resnet_blocks import RESNET_STYLES, BasicBlock, Bottleneck

__all__ = ['BasicBlock', 'Bottleneck', 'ResNet', 'ResNetV1c', 'ResNetV1d',
           'resnet_init_cfg']

MultiConfig = Union[dict, List[dict], None]


def resnet_init_cfg(pretrained: Optional[str], init_cfg: MultiConfig) -> Tuple[MultiConfig, bool]:
    """Resolve the deprecated ``pretrained`` argument and the default initialisation.

    Args:
        pretrained: Deprecated checkpoint path/URL (becomes ``init_cfg`` ``Pretrained``).
        init_cfg: User init config, or None for the default (Kaiming convs, norm weights 1).

    Returns:
        ``(init_cfg, is_default)``; ``is_default`` tells whether the default initialisation
        is used, the only case in which residual branches are zero-initialised.
    """
    if pretrained is not None and init_cfg is not None:
        raise ValueError('Give either init_cfg or the deprecated pretrained, not both '
                         f'(pretrained={pretrained!r}, init_cfg={init_cfg!r})')
    if pretrained is not None:
        if not isinstance(pretrained, str):
            raise TypeError(f'pretrained must be a str or None, got {type(pretrained).__name__}')
        warnings.warn('`pretrained` is deprecated, use init_cfg=dict(type="Pretrained", '
                      'checkpoint=...) instead', DeprecationWarning)
        return dict(type='Pretrained', checkpoint=pretrained), False
    if init_cfg is not None:
        return init_cfg, False
    return [dict(type='Kaiming', layer='Conv2d'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])], True


def set_frozen(module: nn.Module) -> None:
    """Put ``module`` in eval mode and stop gradients to its parameters."""
    module.eval()
    for param in module.parameters():
        param.requires_grad = False


@MODELS.register_module()
class ResNet(BaseModule):
    """ResNet backbone (He et al. 2016) with the mmseg/mmdet options.

    Input (N, in_channels, H, W) float; output a tuple with one (N, C_i, H / s_i, W / s_i)
    float tensor per entry of ``out_indices``, where ``C_i = base_channels * 2**i *
    expansion`` (expansion 1 for depth 18/34, 4 otherwise) and ``s_i = 4 * prod(strides[:i+1])``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: Input image channels.
        stem_channels: Stem output channels; None means ``base_channels`` (mmdet's default).
        base_channels: Planes of the first stage; stage i has ``base_channels * 2**i``.
        num_stages: Number of stages, 1 to 4.
        strides: Stride of the first block of each stage (``num_stages`` entries).
        dilations: Dilation of each stage (``num_stages`` entries).
        out_indices: Stages whose outputs are returned, in order.
        style: ``'pytorch'`` (stride on the 3x3 conv) or ``'caffe'`` (on the first 1x1).
        deep_stem: Replace the 7x7 stem conv by three 3x3 convs (``stem.0`` .. ``stem.8``).
        avg_down: AvgPool + stride-1 conv in downsampling shortcuts.
        frozen_stages: Freeze the stem (0) and stages 1..k (k); -1 freezes nothing.
        conv_cfg: Conv config, e.g. ``dict(type='ConvWS')``; None for ``nn.Conv2d``.
        norm_cfg: Norm config (BN, SyncBN, ``dict(type='GN', num_groups=32)``, ...).
        norm_eval: Keep every BatchNorm in eval mode (frozen running stats) in training.
        dcn: Not supported (must be None).
        stage_with_dcn: Which stages would use ``dcn``; accepted for config compatibility.
        plugins: Not supported (must be None).
        multi_grid: Per-block dilations of the last stage (mmseg).
        contract_dilation: First block of a dilated stage uses ``dilation // 2`` (mmseg).
        with_cp: Gradient checkpointing inside blocks.
        zero_init_residual: With the default init, set the last norm of each block to 0 so
            every block starts as identity.
        pretrained: Deprecated alias of ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        init_cfg: mmengine init config.
    """

    arch_settings: Dict[int, Tuple[Type[nn.Module], Tuple[int, ...]]] = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 stem_channels: Optional[int] = 64,
                 base_channels: int = 64,
                 num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 style: str = 'pytorch',
                 deep_stem: bool = False,
                 avg_down: bool = False,
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 dcn: Optional[dict] = None,
                 stage_with_dcn: Sequence[bool] = (False, False, False, False),
                 plugins: Optional[List[dict]] = None,
                 multi_grid: Optional[Sequence[int]] = None,
                 contract_dilation: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 pretrained: Optional[str] = None,
                 init_cfg: MultiConfig = None) -> None:
        resolved_init_cfg, default_init = resnet_init_cfg(pretrained, init_cfg)
        super().__init__(resolved_init_cfg)
        self._check_args(depth, num_stages, strides, dilations, out_indices, style, frozen_stages)
        if dcn is not None or plugins is not None:
            raise NotImplementedError(
                f'{type(self).__name__}: dcn={dcn!r} / plugins={plugins!r} are not supported '
                'by segdet yet; leave them None.')
        self.pretrained = pretrained
        self.zero_init_residual = zero_init_residual
        self.depth = depth
        self.stem_channels = base_channels if stem_channels is None else stem_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.out_indices = tuple(out_indices)
        self.style = style
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.dcn = dcn
        self.stage_with_dcn = stage_with_dcn
        self.plugins = plugins
        self.multi_grid = multi_grid
        self.contract_dilation = contract_dilation
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]

        self._make_stem_layer(in_channels, self.stem_channels)
        block_init_cfg = None
        if default_init and zero_init_residual:
            block_init_cfg = dict(type='Constant', val=0,
                                  override=dict(name=self.block.zero_init_norm))

        self.res_layers: List[str] = []
        inplanes = self.stem_channels
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2**i
            res_layer = self.make_res_layer(
                block=self.block,
                inplanes=inplanes,
                planes=planes,
                num_blocks=num_blocks,
                stride=self.strides[i],
                dilation=self.dilations[i],
                style=style,
                avg_down=avg_down,
                with_cp=with_cp,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                # multi-grid only re-dilates the last stage (DeepLabv3)
                multi_grid=multi_grid if i == len(self.stage_blocks) - 1 else None,
                contract_dilation=contract_dilation,
                block_init_cfg=block_init_cfg)
            inplanes = planes * self.block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, res_layer)
            self.res_layers.append(name)
        self.feat_dim = inplanes
        self._freeze_stages()

    def _check_args(self, depth: int, num_stages: int, strides: Sequence[int],
                    dilations: Sequence[int], out_indices: Sequence[int], style: str,
                    frozen_stages: int) -> None:
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise KeyError(f'{name}: invalid depth {depth}, choose from '
                           f'{sorted(self.arch_settings)}')
        if not 1 <= num_stages <= 4:
            raise ValueError(f'{name}: num_stages must be in [1, 4], got {num_stages}')
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ValueError(f'{name}: strides={tuple(strides)} and dilations='
                             f'{tuple(dilations)} must both have num_stages={num_stages} entries')
        if len(out_indices) == 0 or max(out_indices) >= num_stages or min(out_indices) < 0:
            raise ValueError(f'{name}: out_indices={tuple(out_indices)} must be non-empty '
                             f'stage indices in [0, {num_stages - 1}]')
        if style not in RESNET_STYLES:
            raise ValueError(f'{name}: style must be one of {RESNET_STYLES}, got {style!r}')
        if frozen_stages > num_stages:
            raise ValueError(f'{name}: frozen_stages={frozen_stages} exceeds '
                             f'num_stages={num_stages}')

    def make_res_layer(self, **kwargs) -> ResLayer:
        """Build one stage; subclasses (ResNeXt) add block arguments here."""
        return ResLayer(**kwargs)

    @property
    def norm1(self) -> nn.Module:
        """Stem norm layer (only without ``deep_stem``)."""
        return getattr(self, self.norm1_name)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        """Build the stride-2 stem and the stride-2 max-pool (total stride 4)."""
        if self.deep_stem:
            mid = stem_channels // 2
            layers: List[nn.Module] = []
            for i, (cin, cout) in enumerate([(in_channels, mid), (mid, mid),
                                             (mid, stem_channels)]):
                layers += [
                    build_conv_layer(self.conv_cfg, cin, cout, kernel_size=3,
                                     stride=2 if i == 0 else 1, padding=1, bias=False),
                    build_norm_layer(self.norm_cfg, cout)[1],
                    nn.ReLU(inplace=True),
                ]
            self.stem = nn.Sequential(*layers)
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels,
                                          kernel_size=7, stride=2, padding=3, bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            if self.deep_stem:
                set_frozen(self.stem)
            else:
                set_frozen(self.conv1)
                set_frozen(self.norm1)
        for i in range(1, self.frozen_stages + 1):
            set_frozen(getattr(self, f'layer{i}'))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Extract features.

        Args:
            x: (N, in_channels, H, W) float tensor.

        Returns:
            Tuple of (N, C_i, H_i, W_i) float tensors, one per ``out_indices`` entry.
        """
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'ResNet':
        """Set train/eval mode, keeping frozen stages and (with ``norm_eval``) BN in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):  # GN has no running stats to freeze
                    m.eval()
        return self


@MODELS.register_module()
class ResNetV1c(ResNet):
    """ResNet-C ("Bag of Tricks", He et al. 2019): deep stem of three 3x3 convs.

    The backbone of mmseg's ``*_r50-d8`` models (``open-mmlab://resnet50_v1c``). Takes the
    ``ResNet`` arguments except ``deep_stem`` and ``avg_down``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class ResNetV1d(ResNet):
    """ResNet-D ("Bag of Tricks"): deep stem and AvgPool downsampling in shortcuts.

    Takes the ``ResNet`` arguments except ``deep_stem`` and ``avg_down``.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
