"""Normalise, convert colour order, pad and stack a batch of detection inputs."""
from numbers import Number
from typing import Any, Optional, Sequence

from torch import Tensor

from segdet.registry import MODELS

from .seg_data_preprocessor import SegDataPreProcessor, padded_size


@MODELS.register_module()
class DetDataPreprocessor(SegDataPreProcessor):
    """mmdetection's ``DetDataPreprocessor``: images of different sizes are padded
    (bottom/right) to the largest one, rounded up to ``pad_size_divisor``; boxes and masks
    stay in image pixels (padding moves nothing).

    Each sample's metainfo gets ``batch_input_shape`` (the stacked (H, W)) and ``pad_shape``
    (its own (h, w) rounded up to ``pad_size_divisor``: anchors beyond it only see padding).

    Args:
        mean, std, bgr_to_rgb, rgb_to_bgr: As ``SegDataPreProcessor``.
        pad_size_divisor: Pad sides to multiples of this number (32 for FPN models).
        pad_value: Image padding value.
        pad_mask, mask_pad_value, pad_seg, seg_pad_value, boxtype2tensor: Accepted for config
            compatibility; masks are not padded (RoI crops never reach the padding).
        batch_augments: Not supported (must be None).
    """

    def __init__(self, mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None, pad_size_divisor: int = 1,
                 pad_value: Number = 0, pad_mask: bool = False, mask_pad_value: int = 0,
                 pad_seg: bool = False, seg_pad_value: int = 255, bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False, boxtype2tensor: bool = True,
                 non_blocking: bool = False, batch_augments: Optional[list] = None) -> None:
        super().__init__(mean=mean, std=std, size_divisor=pad_size_divisor, pad_val=pad_value,
                         seg_pad_val=seg_pad_value, bgr_to_rgb=bgr_to_rgb,
                         rgb_to_bgr=rgb_to_bgr, batch_augments=batch_augments)
        self.pad_size_divisor = pad_size_divisor

    def forward(self, data: dict, training: bool = False) -> dict[str, Any]:
        """Args: data: dict(inputs=list of (3, H_i, W_i) uint8, data_samples=list[DataSample]).

        Returns:
            dict(inputs=(N, 3, H, W) float32, data_samples) with ``batch_input_shape`` and
            ``pad_shape`` in every sample's metainfo.
        """
        inputs = data['inputs']
        own_shapes = [tuple(int(s) for s in img.shape[-2:]) for img in (
            list(inputs) if isinstance(inputs, Tensor) else inputs)]
        out = super().forward(data, training=training)
        samples = out['data_samples']
        if samples is not None:
            for sample, (h, w) in zip(samples, own_shapes):
                sample.set_metainfo(dict(
                    pad_shape=padded_size(h, w, None, self.pad_size_divisor)))
        return out


