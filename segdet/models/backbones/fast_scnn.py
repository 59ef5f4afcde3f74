"""Fast-SCNN backbone (Poudel, Liwicki and Cipolla, "Fast-SCNN: Fast Semantic Segmentation
Network", arXiv:1902.04502).

Registered name, constructor arguments, defaults and state-dict names follow mmsegmentation
1.x, so its ``fast_scnn_*`` config and checkpoint work unchanged.
"""
from typing import Any, Optional, Sequence, Tuple

from mmengine.model import BaseModule
from torch import Tensor

from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int, check_int_sequence
from .fast_scnn_modules import FeatureFusionModule, GlobalFeatureExtractor, LearningToDownsample
from .resnet import MultiConfig

#: What ``out_indices`` picks from: the three maps of :meth:`FastSCNN.forward`.
FAST_SCNN_OUTPUTS = ('higher_res_features', 'lower_res_features', 'fusion_output')


def check_fast_scnn_args(**args: Any) -> None:
    """Check FastSCNN's widths, strides and ``out_indices``, naming the argument and value.

    Args:
        **args: The constructor arguments ``in_channels`` .. ``out_indices``.

    Raises:
        TypeError: A width is not an int, or a sequence argument is not a list/tuple of ints.
        ValueError: A width below 1, a wrong number of entries, a stride other than 1 or 2,
            an ``out_indices`` entry outside (0, 1, 2), or branch widths that do not agree.
    """
    for name in ('in_channels', 'global_in_channels', 'global_out_channels',
                 'higher_in_channels', 'lower_in_channels', 'fusion_out_channels'):
        check_int(args[name], f'FastSCNN: {name}', 1)
    for name, length in (('downsample_dw_channels', 2), ('global_block_channels', 3),
                         ('global_block_strides', 3), ('downsample_strides', 3)):
        value = check_int_sequence(args[name], f'FastSCNN: {name}', 1)
        if len(value) != length:
            raise ValueError(f'FastSCNN: {name}={value} must have {length} entries, got '
                             f'{len(value)}')
    for name in ('global_block_strides', 'downsample_strides'):
        strides = tuple(args[name])
        if any(s not in (1, 2) for s in strides):
            raise ValueError(f'FastSCNN: {name}={strides}: each stride must be 1 or 2')
    if args['global_block_channels'][2] < 4:
        raise ValueError(
            f"FastSCNN: global_block_channels={tuple(args['global_block_channels'])}: the last "
            'must be >= 4 (its pyramid pooling branches are a quarter as wide)')
    out_indices = args['out_indices']
    if not isinstance(out_indices, (list, tuple)) or \
            not all(isinstance(i, int) for i in out_indices):
        raise TypeError('FastSCNN: out_indices must be a list/tuple of ints, got '
                        f'{type(out_indices).__name__} {out_indices!r}')
    bad = [i for i in out_indices if i not in range(len(FAST_SCNN_OUTPUTS))]
    if not out_indices or bad:
        raise ValueError(f'FastSCNN: out_indices={tuple(out_indices)} has {bad or "none"}; '
                         'choose one or more of 0 (higher_res_features), 1 (lower_res_features) '
                         'and 2 (fusion_output)')
    # The fusion module reads the two branches, so their widths must agree.
    for given, expected in (('higher_in_channels', 'global_in_channels'),
                            ('lower_in_channels', 'global_out_channels')):
        if args[given] != args[expected]:
            raise ValueError(f'FastSCNN: {given}={args[given]} must equal {expected}='
                             f'{args[expected]} (the fusion module reads that branch)')
    if args['lower_in_channels'] % args['fusion_out_channels']:
        raise ValueError(
            f"FastSCNN: lower_in_channels={args['lower_in_channels']} must be a multiple of "
            f"fusion_out_channels={args['fusion_out_channels']} (the fusion module's dwconv has "
            'fusion_out_channels groups)')


@MODELS.register_module()
class FastSCNN(BaseModule):
    """Fast-SCNN: learning to downsample (to stride 8 by default), a global feature extractor on
    that map (inverted residuals and a pyramid pooling module, stride 32 by default), and a
    feature fusion module that adds the upsampled global features to the learning-to-downsample
    map.

    Input (N, in_channels, H, W) float. Output: a tuple of the maps ``out_indices`` picks
    from (all float), with ``d = prod(downsample_strides)`` (8 by default):

    * 0, ``higher_res_features``: (N, global_in_channels, H / d, W / d);
    * 1, ``lower_res_features``: (N, global_out_channels, H / (d * s), W / (d * s)), with
      ``s = prod(global_block_strides)`` (4 by default, so stride 32);
    * 2, ``fusion_output``: (N, fusion_out_channels, H / d, W / d).

    Sizes are rounded up at each stride-2 layer. mmseg's config returns all three, in this
    order: the decode head reads the fused map (``in_index=-1``), the auxiliary heads the other
    two.

    Args:
        in_channels: Input image channels.
        downsample_dw_channels: Output channels of the first conv and of the first
            depthwise-separable conv of the learning-to-downsample module.
        global_in_channels: Output channels of learning to downsample, the input of the global
            feature extractor; must equal ``higher_in_channels``.
        global_block_channels: Output channels of the extractor's three groups of inverted
            residual blocks (3 blocks each, expansion 6); the last must be >= 4.
        global_block_strides: Stride of each of the three groups (1 or 2).
        global_out_channels: Output channels of the extractor; must equal
            ``lower_in_channels``.
        higher_in_channels: Channels of the fusion module's higher-resolution input.
        lower_in_channels: Channels of the fusion module's lower-resolution input (a multiple
            of ``fusion_out_channels``).
        fusion_out_channels: Output channels of the fusion module.
        out_indices: Which of the three maps to return (entries in (0, 1, 2)).
        conv_cfg: Conv config.
        norm_cfg: Norm config.
        act_cfg: Activation config.
        align_corners: ``align_corners`` of the PPM and fusion upsampling.
        dw_act_cfg: Activation after the depthwise convs of learning to downsample (None:
            none, as mmseg's config).
        init_cfg: mmengine init config; None: Kaiming convs, norm weights 1 (mmseg's).
        downsample_strides: Strides of learning to downsample's three layers (1 or 2 each;
            mmseg: (2, 2, 2)). A stride of 1 changes no parameter shape: (2, 2, 1) puts the
            fused output at stride 4, for small images.
    """

    def __init__(self,
                 in_channels: int = 3,
                 downsample_dw_channels: Sequence[int] = (32, 48),
                 global_in_channels: int = 64,
                 global_block_channels: Sequence[int] = (64, 96, 128),
                 global_block_strides: Sequence[int] = (2, 2, 1),
                 global_out_channels: int = 128,
                 higher_in_channels: int = 64,
                 lower_in_channels: int = 128,
                 fusion_out_channels: int = 128,
                 out_indices: Sequence[int] = (0, 1, 2),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 align_corners: bool = False,
                 dw_act_cfg: Optional[dict] = None,
                 init_cfg: MultiConfig = None,
                 downsample_strides: Sequence[int] = (2, 2, 2)) -> None:
        super().__init__(init_cfg)
        if init_cfg is None:
            self.init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                             dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        check_fast_scnn_args(
            in_channels=in_channels, downsample_dw_channels=downsample_dw_channels,
            global_in_channels=global_in_channels, global_block_channels=global_block_channels,
            global_block_strides=global_block_strides, global_out_channels=global_out_channels,
            higher_in_channels=higher_in_channels, lower_in_channels=lower_in_channels,
            fusion_out_channels=fusion_out_channels, out_indices=out_indices,
            downsample_strides=downsample_strides)
        self.in_channels = in_channels
        self.downsample_dw_channels1, self.downsample_dw_channels2 = downsample_dw_channels
        self.global_in_channels = global_in_channels
        self.global_block_channels = tuple(global_block_channels)
        self.global_block_strides = tuple(global_block_strides)
        self.downsample_strides = tuple(downsample_strides)
        self.global_out_channels = global_out_channels
        self.higher_in_channels = higher_in_channels
        self.lower_in_channels = lower_in_channels
        self.fusion_out_channels = fusion_out_channels
        self.out_indices = tuple(out_indices)
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = act_cfg
        self.align_corners = align_corners
        widths = (global_in_channels, global_out_channels, fusion_out_channels)
        self.out_channels = tuple(widths[i] for i in self.out_indices)

        self.learning_to_downsample = LearningToDownsample(
            in_channels, downsample_dw_channels, global_in_channels, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg, dw_act_cfg=dw_act_cfg,
            strides=downsample_strides)
        self.global_feature_extractor = GlobalFeatureExtractor(
            global_in_channels, global_block_channels, global_out_channels,
            strides=global_block_strides, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
            act_cfg=act_cfg, align_corners=align_corners)
        self.feature_fusion = FeatureFusionModule(
            higher_in_channels, lower_in_channels, fusion_out_channels, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, dwconv_act_cfg=act_cfg, align_corners=align_corners)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Extract features.

        Args:
            x: (N, in_channels, H, W) float tensor.

        Returns:
            The maps of ``out_indices`` (see the class docstring), in that order.
        """
        higher = self.learning_to_downsample(x)
        lower = self.global_feature_extractor(higher)
        fused = self.feature_fusion(higher, lower)
        outs = (higher, lower, fused)
        return tuple(outs[i] for i in self.out_indices)
