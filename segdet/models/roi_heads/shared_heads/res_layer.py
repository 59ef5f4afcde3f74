"""ResLayer shared head: the last ResNet stage run on RoI features (the C4 R-CNN)."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.models.backbones.resnet import ResNet
from segdet.models.utils.res_layer import ResLayer as StageLayer
from segdet.registry import MODELS


@MODELS.register_module()
class ResLayer(BaseModule):
    """Stage ``stage + 1`` of a ResNet (``layer4`` for ``stage=3``), built alone.

    Input (R, 1024, 14, 14) RoI features of R-50-C4; output (R, 2048, 7, 7) with ``stride=2``.
    Its parameters are named ``layer{stage + 1}.*`` as in mmdetection.

    Args:
        depth: ResNet depth (50 or 101: both have 3 blocks in the last stage).
        stage: 0-based stage index.
        stride, dilation, style: Of the stage.
        norm_cfg, norm_eval: Norm layers; ``norm_eval`` keeps BN in eval mode in training.
        with_cp: Gradient checkpointing inside blocks.
        pretrained: Checkpoint path (deprecated spelling of a ``Pretrained`` init_cfg).
    """

    def __init__(self, depth: int, stage: int = 3, stride: int = 2, dilation: int = 1,
                 style: str = 'pytorch', norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = True, with_cp: bool = False, dcn: Optional[dict] = None,
                 pretrained: Optional[str] = None, init_cfg=None) -> None:
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError('ResLayer: give pretrained or init_cfg, not both')
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        super().__init__(init_cfg)
        if dcn is not None:
            raise NotImplementedError('ResLayer shared head: dcn is not supported')
        if depth not in ResNet.arch_settings:
            raise KeyError(f'ResLayer: invalid depth {depth}')
        self.norm_eval = norm_eval
        self.stage = stage
        block, stage_blocks = ResNet.arch_settings[depth]
        planes = 64 * 2**stage
        inplanes = 64 * 2**(stage - 1) * block.expansion
        layer = StageLayer(block=block, inplanes=inplanes, planes=planes,
                           num_blocks=stage_blocks[stage], stride=stride, dilation=dilation,
                           style=style, with_cp=with_cp, norm_cfg=norm_cfg)
        self.add_module(f'layer{stage + 1}', layer)

    def forward(self, x: Tensor) -> Tensor:
        return getattr(self, f'layer{self.stage + 1}')(x)

    def train(self, mode: bool = True) -> 'ResLayer':
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
