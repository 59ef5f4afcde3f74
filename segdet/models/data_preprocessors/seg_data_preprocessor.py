"""Normalise, convert colour order, pad and stack a batch of segmentation inputs."""
from numbers import Number
from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import PixelData
from torch import Tensor

from segdet.registry import MODELS
from segdet.structures import SampleList


def padded_size(h: int, w: int, size: Optional[Sequence[int]] = None,
                size_divisor: Optional[int] = None) -> tuple[int, int]:
    """Size an (h, w) image is padded to: at least ``size``, then up to a multiple of ``size_divisor``.

    Args:
        h, w: Image height and width.
        size: Minimum output (h, w), e.g. the training crop size.
        size_divisor: Pad each side up to a multiple of this number.

    Returns:
        (padded_h, padded_w).
    """
    if size is not None:
        h, w = max(h, int(size[0])), max(w, int(size[1]))
    if size_divisor:
        h = (h + size_divisor - 1) // size_divisor * size_divisor
        w = (w + size_divisor - 1) // size_divisor * size_divisor
    return h, w


def stack_batch(inputs: list[Tensor],
                data_samples: Optional[SampleList] = None,
                size: Optional[Sequence[int]] = None,
                size_divisor: Optional[int] = None,
                pad_val: Number = 0,
                seg_pad_val: Number = 255) -> tuple[Tensor, Optional[SampleList]]:
    """Pad images (and their ``gt_sem_seg``) on the bottom/right to one size and stack them.

    The common size is the largest (h, w) in the batch, raised to ``size`` and rounded up to
    ``size_divisor``.

    Args:
        inputs: List of (C, H_i, W_i) float tensors.
        data_samples: Matching samples; their ``gt_sem_seg`` is padded with ``seg_pad_val``
            and their metainfo gets ``padding_size`` [left, right, top, bottom] and ``pad_shape``.
        size: Minimum padded (h, w).
        size_divisor: Padded sides are multiples of this number.
        pad_val: Value for padded image pixels.
        seg_pad_val: Value for padded label pixels (the ignore index).

    Returns:
        A (N, C, H, W) tensor and new samples (None when none were given).
    """
    if not inputs:
        raise ValueError('stack_batch got an empty list of inputs')
    max_h = max(int(x.shape[-2]) for x in inputs)
    max_w = max(int(x.shape[-1]) for x in inputs)
    out_h, out_w = padded_size(max_h, max_w, size, size_divisor)
    padded, new_samples = [], []
    for i, img in enumerate(inputs):
        h, w = int(img.shape[-2]), int(img.shape[-1])
        pad = (0, out_w - w, 0, out_h - h)
        padded.append(F.pad(img, pad, value=pad_val))
        if data_samples is None:
            continue
        sample = data_samples[i]
        new = sample.new()  # shallow: fields are shared, the caller's sample is untouched
        if 'gt_sem_seg' in sample:
            seg = sample.gt_sem_seg.data
            new.gt_sem_seg = PixelData(data=F.pad(seg, pad, value=seg_pad_val))
        new.set_metainfo(dict(padding_size=[0, pad[1], 0, pad[3]], pad_shape=(out_h, out_w)))
        new_samples.append(new)
    return torch.stack(padded, dim=0), (new_samples if data_samples is not None else None)


@MODELS.register_module()
class SegDataPreProcessor(BaseDataPreprocessor):
    """Turn a collated batch of uint8 images into a normalised, padded float tensor.

    Steps: move to device -> BGR/RGB swap -> float -> ``(x - mean) / std`` -> pad to ``size`` /
    ``size_divisor`` (training) or ``size_divisor`` only (testing) -> stack.

    Args:
        mean: Per-channel mean, in the channel order *after* the swap.
        std: Per-channel std.
        size: Fixed (h, w) to pad training batches to (usually the crop size).
        size_divisor: Pad sides to multiples of this number.
        pad_val: Image padding value.
        seg_pad_val: Label padding value (the ignore index).
        bgr_to_rgb: Swap BGR to RGB.
        rgb_to_bgr: Swap RGB to BGR.
        batch_augments: Not supported yet; must be None.
        test_cfg: Optional ``dict(size=..., size_divisor=...)`` used at test time.
    """

    def __init__(self,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 size: Optional[Sequence[int]] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Number = 0,
                 seg_pad_val: Number = 255,
                 bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False,
                 batch_augments: Optional[list[dict]] = None,
                 test_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('SegDataPreProcessor: bgr_to_rgb and rgb_to_bgr cannot both be True')
        if batch_augments:
            raise NotImplementedError('SegDataPreProcessor: batch_augments are not supported yet')
        self.size = size
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.channel_conversion = bgr_to_rgb or rgb_to_bgr
        self.test_cfg = test_cfg or {}
        self._enable_normalize = mean is not None
        if (mean is None) != (std is None):
            raise ValueError('SegDataPreProcessor: give both mean and std, or neither')
        if mean is not None:
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> dict[str, Any]:
        """Args: data: dict(inputs=list of (3, H, W) uint8, data_samples=list[DataSample]).

        Returns:
            dict(inputs=(N, 3, H, W) float32, data_samples=list[DataSample]) where each sample's
            metainfo holds ``batch_input_shape``, ``pad_shape`` and ``padding_size``.
        """
        data = self.cast_data(data)
        inputs, data_samples = data['inputs'], data.get('data_samples')
        if isinstance(inputs, Tensor):
            inputs = list(inputs)
        processed = []
        for img in inputs:
            if self.channel_conversion and img.shape[0] == 3:
                img = img[[2, 1, 0], ...]
            img = img.float()
            if self._enable_normalize:
                img = (img - self.mean) / self.std
            processed.append(img)
        if training:
            size, divisor = self.size, self.size_divisor
        else:
            size, divisor = self.test_cfg.get('size'), self.test_cfg.get('size_divisor',
                                                                          self.size_divisor)
        batch, data_samples = stack_batch(processed, data_samples, size, divisor,
                                          self.pad_val, self.seg_pad_val)
        if data_samples is not None:
            for sample in data_samples:
                sample.set_metainfo(dict(batch_input_shape=tuple(batch.shape[-2:])))
        return dict(inputs=batch, data_samples=data_samples)
