"""EncoderDecoder: backbone (+ neck) -> decode head (+ auxiliary heads)."""
import copy
from typing import Optional, Union

from torch import Tensor, nn

from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.utils import as_config_dict

from .base import BaseSegmentor
from .slide import slide_inference


def add_prefix(losses: dict, prefix: str) -> dict:
    """``{'loss_ce': x}`` -> ``{'<prefix>.loss_ce': x}``."""
    return {f'{prefix}.{k}': v for k, v in losses.items()}


@MODELS.register_module()
class EncoderDecoder(BaseSegmentor):
    """Semantic segmentor made of an encoder (backbone, optional neck) and a decode head.

    ``loss()``: extract_feat -> decode_head.loss (+ auxiliary_head.loss), keys prefixed
    ``decode.`` / ``aux.`` (``aux_{i}.`` for several auxiliary heads).
    ``predict()``: inference (whole or slide, from ``test_cfg.mode``) -> postprocess_result.

    Args:
        backbone: Backbone config.
        decode_head: Decode head config.
        neck: Optional neck config.
        auxiliary_head: Optional auxiliary head config, or a list of them.
        train_cfg: Training options passed to the heads.
        test_cfg: ``dict(mode='whole')`` or ``dict(mode='slide', crop_size=(h, w),
            stride=(h, w), batch_size=k)``.
        data_preprocessor: Data preprocessor config.
        pretrained: Path of backbone weights; becomes the backbone's ``init_cfg``.
        init_cfg: Weight initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 neck: Optional[dict] = None,
                 auxiliary_head: Optional[Union[dict, list]] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if pretrained is not None:
            backbone = copy.deepcopy(backbone)
            backbone['init_cfg'] = dict(type='Pretrained', checkpoint=pretrained)
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        self._init_decode_head(decode_head)
        self._init_auxiliary_head(auxiliary_head)
        self.train_cfg = as_config_dict(train_cfg or {}, 'train_cfg')
        self.test_cfg = as_config_dict(test_cfg or dict(mode='whole'), 'test_cfg')

    def _init_decode_head(self, decode_head: dict) -> None:
        self.decode_head = MODELS.build(decode_head)
        self._set_head_attributes(self.decode_head)

    def _set_head_attributes(self, head: nn.Module) -> None:
        self.align_corners = head.align_corners
        self.num_classes = head.num_classes
        self.out_channels = head.out_channels
        threshold = getattr(head, 'threshold', None)
        # Only one-channel (binary) heads read it; 0.0 is a valid threshold.
        self.decode_threshold = 0.5 if threshold is None else threshold

    def _init_auxiliary_head(self, auxiliary_head: Optional[Union[dict, list]]) -> None:
        if auxiliary_head is None:
            return
        if isinstance(auxiliary_head, list):
            self.auxiliary_head = nn.ModuleList([MODELS.build(h) for h in auxiliary_head])
        else:
            self.auxiliary_head = MODELS.build(auxiliary_head)

    def extract_feat(self, inputs: Tensor) -> list[Tensor]:
        """Args: inputs (N, 3, H, W). Returns: multi-level features of the backbone/neck."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def encode_decode(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """Logits of the decode head resized to the input size: (N, C, H, W)."""
        x = self.extract_feat(inputs)
        return self.decode_head.predict(x, batch_img_metas, self.test_cfg)

    def _auxiliary_head_loss(self, x: list[Tensor], data_samples: SampleList) -> dict:
        losses = {}
        if isinstance(self.auxiliary_head, nn.ModuleList):
            for i, head in enumerate(self.auxiliary_head):
                losses.update(add_prefix(head.loss(x, data_samples, self.train_cfg), f'aux_{i}'))
        else:
            losses.update(add_prefix(
                self.auxiliary_head.loss(x, data_samples, self.train_cfg), 'aux'))
        return losses

    def _decode_head_loss(self, x: list[Tensor], data_samples: SampleList) -> dict:
        """The decode head's ``loss()`` (with ``train_cfg``), keys prefixed ``decode.``."""
        return add_prefix(self.decode_head.loss(x, data_samples, self.train_cfg), 'decode')

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of a batch: ``decode.loss_ce``, ``decode.acc_seg``, ``aux.loss_ce`` ..."""
        x = self.extract_feat(inputs)
        losses = self._decode_head_loss(x, data_samples)
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_loss(x, data_samples))
        return losses

    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        """Predict a batch; see ``BaseSegmentor.postprocess_result`` for the output fields."""
        if data_samples is not None:
            batch_img_metas = [s.metainfo for s in data_samples]
        else:
            shape = tuple(inputs.shape[2:])
            batch_img_metas = [dict(ori_shape=shape, img_shape=shape, pad_shape=shape,
                                    padding_size=[0, 0, 0, 0])] * inputs.shape[0]
        seg_logits = self.inference(inputs, batch_img_metas)
        return self.postprocess_result(seg_logits, data_samples)

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        return self.decode_head.forward(self.extract_feat(inputs))

    def whole_inference(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """Logits (N, C, H, W) of the whole padded batch in one pass."""
        metas = [dict(meta, img_shape=tuple(inputs.shape[2:]), pad_shape=tuple(inputs.shape[2:]))
                 for meta in batch_img_metas]
        return self.encode_decode(inputs, metas)

    def slide_inference(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """Logits (N, C, H, W) averaged over overlapping crops (``test_cfg.crop_size/stride``)."""
        cfg = self.test_cfg
        for key in ('crop_size', 'stride'):
            if key not in cfg:
                raise KeyError(f"test_cfg.mode='slide' needs test_cfg.{key}; got {dict(cfg)}")

        def crop_logits(crops: Tensor) -> Tensor:
            shape = tuple(crops.shape[2:])
            metas = [dict(batch_img_metas[0], img_shape=shape, pad_shape=shape)] * crops.shape[0]
            return self.encode_decode(crops, metas)

        return slide_inference(inputs, cfg.crop_size, cfg.stride, self.out_channels,
                               crop_logits, batch_size=int(cfg.get('batch_size', 1)))

    def inference(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """Logits (N, C, H, W) by ``test_cfg.mode`` ('whole' or 'slide')."""
        mode = self.test_cfg.get('mode', 'whole')
        if mode == 'slide':
            return self.slide_inference(inputs, batch_img_metas)
        if mode == 'whole':
            return self.whole_inference(inputs, batch_img_metas)
        raise ValueError(f"test_cfg.mode must be 'whole' or 'slide', got {mode!r}")
