"""Pack a pipeline's result into model inputs and a :class:`DataSample` (segmentation,
detection)."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData, PixelData

from segdet.registry import TRANSFORMS
from segdet.structures import DataSample

DEFAULT_META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
                     'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label')
DET_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                 'flip_direction')
# results key -> (InstanceData field, tensor dtype)
DET_INSTANCE_KEYS = {
    'gt_bboxes': ('bboxes', np.float32),
    'gt_bboxes_labels': ('labels', np.int64),
    'gt_masks': ('masks', np.uint8),
}


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) array -> contiguous (C, H, W) tensor of the same dtype."""
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackSegInputs(BaseTransform):
    """Pack ``img`` and ``gt_seg_map`` for a segmentor.

    Returns ``dict(inputs=..., data_samples=...)``:
        inputs: (C, H, W) contiguous tensor with the image's dtype (uint8 for loaded images),
            channels in the order loaded (BGR).
        data_samples: :class:`DataSample` with ``gt_sem_seg.data`` (1, H, W) int64 when
            ``gt_seg_map`` is present, and metainfo from the ``meta_keys`` present in results.

    Args:
        meta_keys: Result keys copied into the sample's metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        super().__init__()
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        packed = {}
        if 'img' in results:
            packed['inputs'] = image_to_tensor(results['img'])
        sample = DataSample()
        if 'gt_seg_map' in results:
            seg = np.asarray(results['gt_seg_map'])
            if seg.ndim != 2:
                raise ValueError(f'PackSegInputs expects an (H, W) gt_seg_map, got shape '
                                 f'{seg.shape} for {results.get("seg_map_path")}')
            sample.gt_sem_seg = PixelData(data=torch.from_numpy(seg[None].astype(np.int64)))
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'


@TRANSFORMS.register_module()
class PackDetInputs(BaseTransform):
    """Pack ``img`` and instance annotations for a detector.

    Returns ``dict(inputs=..., data_samples=...)``:
        inputs: (C, H, W) contiguous tensor with the image's dtype (uint8 for loaded images),
            channels in the order loaded (BGR).
        data_samples: :class:`DataSample` with metainfo from the ``meta_keys`` present in
            results and, when any of ``gt_bboxes`` / ``gt_bboxes_labels`` / ``gt_masks`` is
            present, ``gt_instances`` (rows whose ``gt_ignore_flags`` is False) and
            ``ignored_instances`` (the other rows), each an :class:`InstanceData` with
            ``bboxes`` (N, 4) float32, ``labels`` (N,) int64 and ``masks`` (N, H, W) uint8 for
            the keys present. Without those keys (test mode) neither field is set.

    Args:
        meta_keys: Result keys copied into the sample's metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DET_META_KEYS) -> None:
        super().__init__()
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        packed = {}
        if 'img' in results:
            packed['inputs'] = image_to_tensor(results['img'])
        sample = DataSample()
        present = {k: np.asarray(results[k]) for k in DET_INSTANCE_KEYS
                   if results.get(k) is not None}
        if present:
            lengths = {k: len(v) for k, v in present.items()}
            flags = results.get('gt_ignore_flags')
            if flags is not None:
                lengths['gt_ignore_flags'] = len(flags)
            if len(set(lengths.values())) != 1:
                raise ValueError(f'PackDetInputs: instance keys of image '
                                 f'{results.get("img_path")} differ in length: {lengths}')
            num = next(iter(lengths.values()))
            ignored = (np.zeros(num, dtype=bool) if flags is None else
                       np.asarray(flags, dtype=bool))
            gt, ign = InstanceData(), InstanceData()
            for key, value in present.items():
                field, dtype = DET_INSTANCE_KEYS[key]
                value = value.astype(dtype, copy=False)
                gt[field] = torch.from_numpy(np.ascontiguousarray(value[~ignored]))
                ign[field] = torch.from_numpy(np.ascontiguousarray(value[ignored]))
            sample.gt_instances = gt
            sample.ignored_instances = ign
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
