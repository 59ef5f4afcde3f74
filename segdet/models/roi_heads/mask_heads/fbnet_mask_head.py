"""FBNetMaskHead: the FBNet arch's mask-head blocks and a 1x1 predictor (maskrcnn-benchmark's
``FBNet.roi_head_mask`` with ``MaskRCNNConv1x1Predictor``)."""
from typing import Mapping, Optional, Sequence, Union

from mmengine.model import BaseModule
from torch import Tensor, nn

from segdet.registry import MODELS
from ..shared_heads.fbnet_head_stage import FBNetHeadStage
from .fcn_mask_head import FCNMaskHead


@MODELS.register_module()
class FBNetMaskHead(FCNMaskHead):
    """``stage`` (the arch's ``mask`` blocks as an ``FBNetHeadStage``) and ``conv_logits``
    (1x1 conv to one mask per class). The blocks upsample themselves (negative strides), so
    there is no deconvolution: ``default``'s blocks turn 6x6 RoI features into 12x12 masks
    (last block x2), ``xirb16d_dsmask``'s go 6 -> 3 -> 6 -> 12.

    Input (P, in_channels, S, S) RoI features; output (P, num_classes, M, M) logits with
    ``M = mask_size`` (``stage.output_size(S)``). Targets, loss and pasting are
    ``FCNMaskHead``'s; set ``train_cfg.rcnn.mask_size`` to ``mask_size``.

    Args:
        in_channels: Channels of the RoI features (the trunk's).
        roi_feat_size: S (6 in the model-zoo configs).
        arch, width_ratio, width_divisor, norm_cfg, dw_skip_bn, dw_skip_relu: As the
            ``FBNet`` backbone's (use the same values).
        block_indices, stride, last_scale: ``FBNetHeadStage``'s, for the ``mask`` part
            (``FBNET.MASK_HEAD_BLOCKS``, ``MASK_HEAD_STRIDE``, ``MASK_HEAD_LAST_SCALE``).
        num_classes, class_agnostic, loss_mask: As ``FCNMaskHead``.
    """

    def __init__(self, in_channels: int, roi_feat_size: int = 6,
                 arch: Union[str, Mapping] = 'default', width_ratio: float = 1.0,
                 width_divisor: int = 8,
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
                 dw_skip_bn: bool = True, dw_skip_relu: bool = True,
                 block_indices: Optional[Sequence[int]] = None, stride: int = 0,
                 last_scale: float = 0.0, num_classes: int = 80, class_agnostic: bool = False,
                 loss_mask: dict = dict(type='CrossEntropyLoss', use_mask=True,
                                        loss_weight=1.0),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        stage = FBNetHeadStage(in_channels, arch, part='mask', width_ratio=width_ratio,
                               width_divisor=width_divisor, norm_cfg=norm_cfg,
                               dw_skip_bn=dw_skip_bn, dw_skip_relu=dw_skip_relu,
                               block_indices=block_indices, stride=stride,
                               last_scale=last_scale)
        super().__init__(num_convs=0, roi_feat_size=roi_feat_size, in_channels=in_channels,
                         conv_out_channels=stage.out_channels, num_classes=num_classes,
                         class_agnostic=class_agnostic, loss_mask=loss_mask,
                         init_cfg=init_cfg)
        # FCNMaskHead's 2x deconvolution and its ReLU are not part of this head.
        del self.upsample, self.relu
        self.stage = stage
        self.mask_size = stage.output_size(roi_feat_size)

    def init_weights(self) -> None:
        """The blocks' convs keep their Kaiming init; ``conv_logits`` gets Kaiming (fan-out)
        weights and a zero bias, as maskrcnn-benchmark's 1x1 predictor."""
        BaseModule.init_weights(self)
        nn.init.kaiming_normal_(self.conv_logits.weight, mode='fan_out', nonlinearity='relu')
        nn.init.constant_(self.conv_logits.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        """(P, in_channels, S, S) -> (P, num_classes, mask_size, mask_size) mask logits."""
        return self.conv_logits(self.stage(x))

    def get_targets(self, sampling_results: list, batch_gt_instances: list,
                    rcnn_train_cfg: dict) -> Tensor:
        """``FCNMaskHead``'s targets, after checking that ``train_cfg.rcnn.mask_size`` is the
        size this head predicts (the arch and ``roi_feat_size`` fix it)."""
        size = rcnn_train_cfg['mask_size']
        if size != self.mask_size:
            raise ValueError(
                f'FBNetMaskHead: train_cfg.rcnn.mask_size={size}, but this head predicts '
                f'{self.mask_size}x{self.mask_size} masks (its arch\'s mask blocks on '
                f'{self.roi_feat_size}x{self.roi_feat_size} RoIs); set mask_size={self.mask_size}')
        return super().get_targets(sampling_results, batch_gt_instances, rcnn_train_cfg)
