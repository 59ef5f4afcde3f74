"""FBNetRPNHead: an RPN whose conv tower is the FBNet arch's ``rpn`` stage (maskrcnn-benchmark's
``FBNet.rpn_head``)."""
from typing import Mapping, Optional, Union

from torch import Tensor, nn

from segdet.models.backbones.fbnet import build_fbnet_part, check_width_args, fbnet_width
from segdet.models.backbones.fbnet_archs import part_specs, resolve_arch
from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int

from .rpn_head import RPNHead


@MODELS.register_module()
class FBNetRPNHead(RPNHead):
    """``rpn_conv``: the arch's RPN blocks (``xif{stage}_{i}``, no activation after them, as
    maskrcnn-benchmark's ``RPNHeadConvRegressor`` reads them directly), then the 1x1
    ``rpn_cls`` and ``rpn_reg`` of ``RPNHead``.

    Input: a tuple of (B, in_channels, H, W) levels (the FBNet trunk's one stride-16 map);
    output per level: objectness (B, A, H, W) and deltas (B, 4A, H, W), A anchors per cell.

    Args:
        in_channels: Trunk channels (``FBNet.out_channels``).
        arch, width_ratio, width_divisor, norm_cfg, dw_skip_bn, dw_skip_relu: As the
            ``FBNet`` backbone's (use the same values).
        num_blocks: Use only the last ``num_blocks`` RPN blocks (maskrcnn-benchmark's
            ``FBNET.RPN_HEAD_BLOCKS``); 0 uses all.
        feat_channels: Optional; if given it must equal the blocks' output width.
        init_cfg: Normal(std=0.01) for ``rpn_cls`` and ``rpn_reg`` only; the blocks keep
            their convs' Kaiming init.
        **kwargs: ``RPNHead``'s anchor generator, coder, losses, train/test configs.
    """

    def __init__(self, in_channels: int, arch: Union[str, Mapping] = 'default',
                 width_ratio: float = 1.0, width_divisor: int = 8,
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
                 dw_skip_bn: bool = True, dw_skip_relu: bool = True, num_blocks: int = 0,
                 feat_channels: Optional[int] = None,
                 init_cfg: Optional[Union[dict, list]] = dict(
                     type='Normal', std=0.01,
                     override=[dict(name='rpn_cls'), dict(name='rpn_reg')]),
                 **kwargs) -> None:
        check_width_args('FBNetRPNHead', width_ratio, width_divisor)
        check_int(num_blocks, 'FBNetRPNHead: num_blocks', 0)
        arch_def = resolve_arch(arch)
        specs = part_specs(arch_def, 'rpn')
        if num_blocks > len(specs):
            raise ValueError(f'FBNetRPNHead: num_blocks={num_blocks}, but the arch has '
                             f'{len(specs)} RPN blocks')
        # maskrcnn-benchmark keeps the last blocks by their index inside the stage.
        keep = [s.index for s in specs[len(specs) - num_blocks:]] if num_blocks else None
        self._tower_args = dict(arch=arch_def, part='rpn', width_ratio=width_ratio,
                                width_divisor=width_divisor, norm_cfg=norm_cfg,
                                dw_skip_bn=dw_skip_bn, dw_skip_relu=dw_skip_relu,
                                block_indices=keep)
        out = fbnet_width(specs[-1].channels, width_ratio, width_divisor)
        if feat_channels is not None and feat_channels != out:
            raise ValueError(f'FBNetRPNHead: feat_channels={feat_channels}, but the '
                             f'{arch!r} RPN blocks give {out} channels')
        super().__init__(in_channels, feat_channels=out, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        """``rpn_conv`` (the FBNet blocks), ``rpn_cls``, ``rpn_reg``."""
        self.rpn_conv, _ = build_fbnet_part(in_channels=self.in_channels, **self._tower_args)
        self.rpn_cls = nn.Conv2d(self.feat_channels,
                                 self.num_base_priors * self.cls_out_channels, 1)
        self.rpn_reg = nn.Conv2d(self.feat_channels,
                                 self.num_base_priors * self.bbox_coder.encode_size, 1)

    def forward_single(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """One level: (B, C, H, W) -> objectness (B, A, H, W) and deltas (B, 4A, H, W)."""
        x = self.rpn_conv(x)
        return self.rpn_cls(x), self.rpn_reg(x)
