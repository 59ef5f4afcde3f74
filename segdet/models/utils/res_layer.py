"""``ResLayer``: one stage of residual blocks (a ResNet ``layerK``), reused by C4 RoI heads.

Naming matches mmsegmentation/mmdetection: blocks are ``0``, ``1``, ...; the shortcut
projection of the first block is ``downsample.0`` (1x1 conv) and ``downsample.1`` (norm), or,
with ``avg_down=True``, ``downsample.0`` (AvgPool, no parameters), ``.1`` (conv), ``.2`` (norm).
"""
from typing import List, Optional, Sequence, Type, Union

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import Sequential


def stage_dilations(num_blocks: int,
                    dilation: int = 1,
                    multi_grid: Optional[Sequence[int]] = None,
                    contract_dilation: bool = False) -> List[int]:
    """Dilation of each block of a stage.

    Args:
        num_blocks: Number of blocks in the stage.
        dilation: Dilation of the stage.
        multi_grid: Explicit per-block dilations (DeepLabv3 "multi-grid"); used as given
            (not multiplied by ``dilation``), as mmseg does. Must have >= ``num_blocks`` entries.
        contract_dilation: Halve the first block's dilation when ``dilation > 1`` (mmseg), so
            the stride->dilation switch does not skip rates.

    Returns:
        ``num_blocks`` ints, e.g. ``stage_dilations(3, 4, contract_dilation=True) == [2, 4, 4]``.
    """
    if multi_grid is not None:
        if len(multi_grid) < num_blocks:
            raise ValueError(f'multi_grid={tuple(multi_grid)} has {len(multi_grid)} entries '
                             f'but the stage has {num_blocks} blocks')
        return [int(d) for d in multi_grid[:num_blocks]]
    first = dilation // 2 if contract_dilation and dilation > 1 else dilation
    return [first] + [dilation] * (num_blocks - 1)


def build_shortcut(inplanes: int,
                   out_channels: int,
                   stride: int,
                   avg_down: bool = False,
                   conv_cfg: Optional[dict] = None,
                   norm_cfg: dict = dict(type='BN')) -> nn.Sequential:
    """Projection shortcut: 1x1 conv + norm, optionally preceded by average pooling.

    With ``avg_down`` (ResNet-D) the spatial reduction is done by a ``stride x stride``
    AvgPool so the 1x1 conv does not drop 3/4 of the positions.

    Args:
        inplanes: Input channels.
        out_channels: Output channels.
        stride: Spatial stride of the shortcut.
        avg_down: Downsample with AvgPool instead of a strided conv.
        conv_cfg: Conv config for ``build_conv_layer``.
        norm_cfg: Norm config for ``build_norm_layer``.

    Returns:
        ``nn.Sequential`` mapping (N, inplanes, H, W) to (N, out_channels, H/stride, W/stride).
    """
    layers: List[nn.Module] = []
    conv_stride = stride
    if avg_down:
        # Inserted even when stride == 1 (then an identity pool) so the conv and norm keep
        # the indices 1 and 2 that ResNet-D checkpoints use.
        conv_stride = 1
        layers.append(nn.AvgPool2d(kernel_size=stride, stride=stride, ceil_mode=True,
                                   count_include_pad=False))
    layers.append(build_conv_layer(conv_cfg, inplanes, out_channels, kernel_size=1,
                                   stride=conv_stride, bias=False))
    layers.append(build_norm_layer(norm_cfg, out_channels)[1])
    return nn.Sequential(*layers)


class ResLayer(Sequential):
    """A stage of ``num_blocks`` residual blocks; the first (or last) one changes resolution.

    Args:
        block: Block class (``BasicBlock`` or ``Bottleneck``), with an ``expansion`` attribute.
        inplanes: Input channels.
        planes: Block planes; the stage outputs ``planes * block.expansion`` channels.
        num_blocks: Number of blocks.
        stride: Stride of the downsampling block.
        dilation: Dilation of the stage (see ``stage_dilations``).
        avg_down: Use AvgPool + stride-1 conv in the shortcut (ResNet-D).
        conv_cfg: Conv config for ``build_conv_layer``.
        norm_cfg: Norm config for ``build_norm_layer``.
        multi_grid: Per-block dilations overriding ``dilation``.
        contract_dilation: Halve the first block's dilation when ``dilation > 1``.
        downsample_first: The first block downsamples (ResNet). False puts the downsampling
            block last and keeps the width of the others at ``inplanes`` (Hourglass).
        block_init_cfg: ``init_cfg`` given to every block (e.g. zero-init of the last norm).
        init_cfg: ``init_cfg`` of the layer itself.
        **block_kwargs: Passed to every block (``style``, ``with_cp``, ``dcn``, ``plugins``,
            ``groups``, ``base_width``, ``base_channels``, ...).
    """

    def __init__(self,
                 block: Type[nn.Module],
                 inplanes: int,
                 planes: int,
                 num_blocks: int,
                 stride: int = 1,
                 dilation: int = 1,
                 avg_down: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 multi_grid: Optional[Sequence[int]] = None,
                 contract_dilation: bool = False,
                 downsample_first: bool = True,
                 block_init_cfg: Union[dict, List[dict], None] = None,
                 init_cfg: Union[dict, List[dict], None] = None,
                 **block_kwargs) -> None:
        if num_blocks < 1:
            raise ValueError(f'ResLayer needs num_blocks >= 1, got {num_blocks}')
        self.block = block
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != out_channels:
            downsample = build_shortcut(inplanes, out_channels, stride, avg_down,
                                        conv_cfg, norm_cfg)
        dilations = stage_dilations(num_blocks, dilation, multi_grid, contract_dilation)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, init_cfg=block_init_cfg,
                      **block_kwargs)

        blocks: List[nn.Module] = []
        if downsample_first:
            blocks.append(block(inplanes=inplanes, planes=planes, stride=stride,
                                dilation=dilations[0], downsample=downsample, **common))
            for d in dilations[1:]:
                blocks.append(block(inplanes=out_channels, planes=planes, stride=1,
                                    dilation=d, **common))
        else:
            for d in dilations[:-1]:
                blocks.append(block(inplanes=inplanes, planes=inplanes, stride=1,
                                    dilation=d, **common))
            blocks.append(block(inplanes=inplanes, planes=planes, stride=stride,
                                dilation=dilations[-1], downsample=downsample, **common))
        super().__init__(*blocks, init_cfg=init_cfg)
