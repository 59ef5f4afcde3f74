"""NLHead: an embedded-Gaussian non-local block inside an FCN head (NLNet, arXiv:1711.07971)."""
from mmcv.cnn import NonLocal2d
from torch import nn

from segdet.registry import MODELS
from segdet.utils.arg_checks import check_int

from .block_fcn_head import BlockFCNHead

NON_LOCAL_MODES = ('gaussian', 'embedded_gaussian', 'dot_product', 'concatenation')


def check_non_local_args(name: str, reduction: int, mode: str) -> None:
    """Raise the exception-rule errors for a non-local block's ``reduction`` and ``mode``."""
    check_int(reduction, f'{name}: reduction', 1)
    if mode not in NON_LOCAL_MODES:
        raise ValueError(f'{name}: mode must be one of {NON_LOCAL_MODES}, got {mode!r}')


@MODELS.register_module()
class NLHead(BlockFCNHead):
    """``convs.0 -> nl_block -> convs.1 -> conv_cat -> cls_seg``.

    ``nl_block`` is mmcv's ``NonLocal2d``: every position adds ``conv_out`` of the
    softmax(theta^T phi)-weighted sum of ``g`` over all positions to itself. ``conv_out``'s
    norm starts at zero, so the block starts as the identity.

    Args:
        reduction: ``inter_channels = channels // reduction`` of theta, phi and g.
        use_scale: Divide the pairwise logits by sqrt(inter_channels) (embedded_gaussian).
        mode: 'embedded_gaussian' (mmseg's configs), 'gaussian', 'dot_product' or
            'concatenation' (mmcv's pairwise functions).
        **kwargs: :class:`FCNHead` arguments but ``num_convs`` (always 2).
    """

    def __init__(self, reduction: int = 2, use_scale: bool = True,
                 mode: str = 'embedded_gaussian', **kwargs) -> None:
        super().__init__(**kwargs)
        check_non_local_args('NLHead', reduction, mode)
        self.reduction = reduction
        self.use_scale = use_scale
        self.mode = mode
        self.nl_block = NonLocal2d(in_channels=self.channels, reduction=reduction,
                                   use_scale=use_scale, conv_cfg=self.conv_cfg,
                                   norm_cfg=self.norm_cfg, mode=mode)

    def context_block(self) -> nn.Module:
        return self.nl_block
