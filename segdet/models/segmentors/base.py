"""Base class of segmentors: the three forward modes and turning logits into samples."""
from abc import ABCMeta, abstractmethod
from typing import Optional, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import Tensor

from segdet.models.utils import dispatch_forward, resize
from segdet.structures import DataSample, SampleList


def padding_of(meta: dict) -> tuple[int, int, int, int]:
    """The (left, right, top, bottom) padding of an image's logits, from its metainfo.

    Args:
        meta: Image metainfo; ``img_padding_size`` wins over ``padding_size``, as in mmseg.

    Returns:
        Four non-negative ints; (0, 0, 0, 0) when neither key is present.

    Raises:
        ValueError: the padding is not four non-negative ints.
    """
    key = 'img_padding_size' if 'img_padding_size' in meta else 'padding_size'
    padding = meta.get(key)
    if padding is None:
        return 0, 0, 0, 0
    values = [int(p) for p in padding]
    if len(values) != 4 or min(values) < 0:
        raise ValueError(f'{key} in the metainfo of {meta.get("img_path")} must be four '
                         f'non-negative ints [left, right, top, bottom], got {padding!r}')
    return values[0], values[1], values[2], values[3]


def logits_to_ori_shape(seg_logits: Tensor, meta: dict, align_corners: bool) -> Tensor:
    """Undo padding, flip and resizing of one image's logits.

    Args:
        seg_logits: (C, H, W) logits over the padded batch input.
        meta: Image metainfo with ``img_shape``, ``ori_shape`` and optional padding
            ([left, right, top, bottom]), ``flip``, ``flip_direction``. The padding is
            ``img_padding_size`` when present (what mmseg's data preprocessor writes at test
            time), else ``padding_size``, else none, as in mmseg's ``postprocess_result``.
        align_corners: ``align_corners`` of the decode head.

    Returns:
        (C, ori_h, ori_w) logits.
    """
    left, right, top, bottom = padding_of(meta)
    h, w = seg_logits.shape[-2:]
    seg_logits = seg_logits[:, top:h - bottom, left:w - right]
    if meta.get('flip', False):
        direction = meta.get('flip_direction', 'horizontal')
        if direction == 'horizontal':
            seg_logits = seg_logits.flip(dims=(2,))
        elif direction == 'vertical':
            seg_logits = seg_logits.flip(dims=(1,))
        elif direction == 'diagonal':
            seg_logits = seg_logits.flip(dims=(1, 2))
        else:
            raise ValueError(f"unknown flip_direction {direction!r} in metainfo "
                             f"of {meta.get('img_path')}")
    ori_shape = tuple(meta['ori_shape'][:2])
    if tuple(seg_logits.shape[-2:]) != ori_shape:
        seg_logits = resize(seg_logits[None], size=ori_shape, mode='bilinear',
                            align_corners=align_corners, warning=False)[0]
    return seg_logits


class BaseSegmentor(BaseModel, metaclass=ABCMeta):
    """Segmentor base: ``forward(mode='loss'|'predict'|'tensor')``.

    Args:
        data_preprocessor: Config of the data preprocessor (e.g. ``SegDataPreProcessor``).
        init_cfg: Weight initialisation config.
    """

    def __init__(self, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

    @property
    def with_neck(self) -> bool:
        return getattr(self, 'neck', None) is not None

    @property
    def with_auxiliary_head(self) -> bool:
        return getattr(self, 'auxiliary_head', None) is not None

    def forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None,
                mode: str = 'tensor') -> Union[dict, SampleList, Tensor]:
        """Dispatch on ``mode``.

        Args:
            inputs: (N, 3, H, W) preprocessed images.
            data_samples: Samples with metainfo (and ``gt_sem_seg`` for ``loss``).
            mode: 'loss' -> dict of losses; 'predict' -> list of new ``DataSample`` with
                ``seg_logits`` (C, H, W) and ``pred_sem_seg`` (1, H, W) at ``ori_shape``;
                'tensor' -> raw (N, C, h, w) logits of the decode head.

        Raises:
            ValueError: an unknown mode (see :func:`segdet.models.utils.dispatch_forward`).
        """
        return dispatch_forward(self, inputs, data_samples, mode)

    @abstractmethod
    def extract_feat(self, inputs: Tensor) -> list[Tensor]:
        """Backbone (+ neck) features."""

    @abstractmethod
    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of a batch."""

    @abstractmethod
    def predict(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> SampleList:
        """Predictions of a batch."""

    @abstractmethod
    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> Tensor:
        """Network output without post-processing."""

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: Optional[SampleList] = None) -> SampleList:
        """Turn batch logits into new samples at the original image size.

        Each image's logits are cropped by its padding (``img_padding_size``, else
        ``padding_size`` metainfo), un-flipped and resized to ``ori_shape``; see
        :func:`logits_to_ori_shape`.

        Args:
            seg_logits: (N, C, H, W) logits over the (padded) batch input.
            data_samples: Input samples; their metainfo and ground truth are carried over into
                the returned samples (the inputs are not modified).

        Returns:
            New samples with ``seg_logits`` (C, ori_h, ori_w) and ``pred_sem_seg``
            (1, ori_h, ori_w) int64; for one output channel the prediction is
            ``sigmoid(logits) > threshold``.
        """
        align_corners = self.align_corners
        results = []
        for i in range(seg_logits.shape[0]):
            if data_samples is None:
                h, w = seg_logits.shape[-2:]
                meta = dict(ori_shape=(h, w), img_shape=(h, w))
                out = DataSample(metainfo=meta)
            else:
                meta = data_samples[i].metainfo
                out = data_samples[i].new()
            logits = logits_to_ori_shape(seg_logits[i], meta, align_corners)
            if logits.shape[0] > 1:
                pred = logits.argmax(dim=0, keepdim=True)
            else:
                logits = logits.sigmoid()
                pred = (logits > self.decode_threshold).to(torch.int64)
            out.seg_logits = PixelData(data=logits)
            out.pred_sem_seg = PixelData(data=pred)
            results.append(out)
        return results
