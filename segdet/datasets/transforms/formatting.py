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
# flip_indices (keypoint data sets): lets a model map keypoints of a flipped view back.
DET_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                 'flip_direction', 'flip_indices')
# results key -> (InstanceData field, tensor dtype)
DET_INSTANCE_KEYS = {
    'gt_bboxes': ('bboxes', np.float32),
    'gt_bboxes_labels': ('labels', np.int64),
    'gt_masks': ('masks', np.uint8),
    'gt_keypoints': ('keypoints', np.float32),
}


def image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) array -> contiguous (C, H, W) tensor of the same dtype."""
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def seg_map_to_tensor(seg_map: np.ndarray, transform: str, path: object) -> torch.Tensor:
    """(H, W) label map -> (1, H, W) int64 tensor.

    Args:
        seg_map: (H, W) integer label map (``results['gt_seg_map']``).
        transform: Name of the calling transform, for the error message.
        path: The label file (``results['seg_map_path']``), for the error message.

    Raises:
        ValueError: the map is not 2-D.
    """
    seg = np.asarray(seg_map)
    if seg.ndim != 2:
        raise ValueError(f'{transform} expects an (H, W) gt_seg_map, got shape {seg.shape} '
                         f'for {path}')
    return torch.from_numpy(seg[None].astype(np.int64))


def proposals_to_instances(results: dict) -> InstanceData:
    """``results['proposals']`` / ``['proposals_scores']`` (from ``LoadProposals``) ->
    ``InstanceData`` with ``bboxes`` (N, 4) float32 and ``scores`` (N,) float32.

    Raises:
        KeyError: ``proposals_scores`` is missing.
        ValueError: the boxes are not (N, 4) or the scores are not (N,).
    """
    where = results.get('img_path')
    if 'proposals_scores' not in results:
        raise KeyError(f"PackDetInputs: image {where} has 'proposals' but no "
                       "'proposals_scores'; load proposals with LoadProposals, which adds them")
    bboxes = np.asarray(results['proposals'], dtype=np.float32)
    scores = np.asarray(results['proposals_scores'], dtype=np.float32)
    if bboxes.ndim != 2 or bboxes.shape[1] != 4 or scores.shape != (len(bboxes), ):
        raise ValueError(f'PackDetInputs: proposals of image {where} must be (N, 4) boxes with '
                         f'(N,) scores, got {bboxes.shape} and {scores.shape}')
    return InstanceData(bboxes=torch.from_numpy(np.ascontiguousarray(bboxes)),
                        scores=torch.from_numpy(np.ascontiguousarray(scores)))


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
            sample.gt_sem_seg = PixelData(data=seg_map_to_tensor(
                results['gt_seg_map'], 'PackSegInputs', results.get('seg_map_path')))
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
            results and, when any of ``gt_bboxes`` / ``gt_bboxes_labels`` / ``gt_masks`` /
            ``gt_keypoints`` is present, ``gt_instances`` (rows whose ``gt_ignore_flags`` is
            False) and ``ignored_instances`` (the other rows), each an :class:`InstanceData`
            with ``bboxes`` (N, 4) float32, ``labels`` (N,) int64, ``masks`` (N, H, W) uint8
            and ``keypoints`` (N, K, 3) float32 (x, y, v) for the keys present. Without those
            keys (test mode) neither field is set.
            With ``proposals`` (from ``LoadProposals``): ``proposals``, an
            :class:`InstanceData` with ``bboxes`` (N, 4) float32 and ``scores`` (N,) float32
            (``proposals_scores``). With ``gt_seg_map``: ``gt_sem_seg``, a
            :class:`PixelData` with ``data`` (1, H, W) int64 (mmdet names this field
            ``sem_seg``; segdet's one data sample uses ``data`` for every label map), and
            ``ignore_index`` in its metainfo when the results hold one.

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
        if 'proposals' in results:
            sample.proposals = proposals_to_instances(results)
        if 'gt_seg_map' in results:
            sem_seg = PixelData(data=seg_map_to_tensor(
                results['gt_seg_map'], 'PackDetInputs', results.get('seg_map_path')))
            if 'ignore_index' in results:
                sem_seg.set_metainfo(dict(ignore_index=results['ignore_index']))
            sample.gt_sem_seg = sem_seg
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
