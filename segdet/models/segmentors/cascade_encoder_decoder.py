"""CascadeEncoderDecoder: a chain of decode heads, each refining the previous output (OCRNet)."""
from typing import Optional, Union

from torch import Tensor, nn

from segdet.registry import MODELS
from segdet.structures import SampleList

from .encoder_decoder import EncoderDecoder, add_prefix


@MODELS.register_module()
class CascadeEncoderDecoder(EncoderDecoder):
    """EncoderDecoder whose ``decode_head`` is a list of ``num_stages`` heads.

    Head 0 sees the features; head i > 0 sees the features and head i-1's logits. Loss keys
    are prefixed ``decode_{i}.``; predictions come from the last head.

    Args:
        num_stages: Number of cascaded heads; must equal ``len(decode_head)``.
        decode_head: List of head configs.
        Other args: as ``EncoderDecoder``.
    """

    def __init__(self, num_stages: int, backbone: dict, decode_head: list,
                 neck: Optional[dict] = None,
                 auxiliary_head: Optional[Union[dict, list]] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if not isinstance(decode_head, (list, tuple)):
            raise TypeError(f'CascadeEncoderDecoder: decode_head must be a list of num_stages='
                            f'{num_stages} head configs, got {type(decode_head).__name__}')
        if len(decode_head) != num_stages:
            raise ValueError(f'CascadeEncoderDecoder: decode_head must be a list of num_stages='
                             f'{num_stages} head configs, got {len(decode_head)} of them')
        self.num_stages = num_stages
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck,
                         auxiliary_head=auxiliary_head, train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor, pretrained=pretrained,
                         init_cfg=init_cfg)

    def _init_decode_head(self, decode_head: list) -> None:
        self.decode_head = nn.ModuleList([MODELS.build(h) for h in decode_head])
        self._set_head_attributes(self.decode_head[-1])

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        x = self.extract_feat(inputs)
        out = self.decode_head[0].forward(x)
        for head in self.decode_head[1:-1]:
            out = head.forward(x, out)
        return self.decode_head[-1].predict(x, out, batch_img_metas, self.test_cfg)

    def _decode_head_loss(self, x: list[Tensor], data_samples: SampleList) -> dict:
        """Every head's ``loss()`` (with ``train_cfg``), keys prefixed ``decode_{i}.``.

        Head i > 0 reads the logits of head i - 1 from a forward pass of its own, as
        mmsegmentation computes them: the heads' ``loss()`` stays the one place where a head
        turns its inputs into losses (point-sampling heads read ``train_cfg`` there).
        """
        losses = add_prefix(self.decode_head[0].loss(x, data_samples, self.train_cfg),
                            'decode_0')
        prev: Optional[Tensor] = None
        for i in range(1, self.num_stages):
            prev = (self.decode_head[0].forward(x) if i == 1
                    else self.decode_head[i - 1].forward(x, prev))
            losses.update(add_prefix(
                self.decode_head[i].loss(x, prev, data_samples, self.train_cfg),
                f'decode_{i}'))
        return losses

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        x = self.extract_feat(inputs)
        out = self.decode_head[0].forward(x)
        for head in self.decode_head[1:]:
            out = head.forward_tensor(x, out, self.test_cfg)
        return out
