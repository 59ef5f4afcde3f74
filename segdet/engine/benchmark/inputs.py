"""Where a benchmark's batches come from: random images of a given size, or a config's loader."""
import itertools
from typing import Iterator, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import InstanceData, PixelData

from segdet.structures import DataSample


def random_seg_batch(batch_size: int, shape: tuple[int, int], num_classes: int,
                     seed: int = 0) -> dict:
    """A collated batch of random uint8 images with random label maps (for timing only).

    Returns:
        ``dict(inputs=[(3, H, W) uint8] * batch_size, data_samples=[DataSample] * batch_size)``.
    """
    g = torch.Generator().manual_seed(seed)
    h, w = shape
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g))
        sample = DataSample(metainfo=dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, h, w), generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def random_det_batch(batch_size: int, shape: tuple[int, int], num_classes: int,
                     with_mask: bool = True, num_boxes: int = 3, seed: int = 0) -> dict:
    """A collated batch of random uint8 images with random boxes (and box-shaped masks).

    Each sample has metainfo ``img_shape = ori_shape = pad_shape = (H, W)`` and
    ``scale_factor = (1., 1.)``, and ``gt_instances`` with ``bboxes`` (num_boxes, 4) float32
    (x1, y1, x2, y2; at least 1/8 of the image wide and high), ``labels`` (num_boxes,) int64
    and, ``with_mask``, ``masks`` (num_boxes, H, W) uint8 filling each box.

    Returns:
        ``dict(inputs=[(3, H, W) uint8] * batch_size, data_samples=[DataSample] * batch_size)``.
    """
    g = torch.Generator().manual_seed(seed)
    h, w = shape
    inputs, samples = [], []
    for i in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=g))
        wh = torch.tensor([w, h], dtype=torch.float32)
        size = (torch.rand(num_boxes, 2, generator=g) * 0.5 + 0.125) * wh
        top_left = torch.rand(num_boxes, 2, generator=g) * (wh - size)
        boxes = torch.cat([top_left, top_left + size], dim=1).floor()
        sample = DataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                          scale_factor=(1.0, 1.0), img_id=i))
        gt = InstanceData(bboxes=boxes,
                          labels=torch.randint(0, num_classes, (num_boxes, ), generator=g))
        if with_mask:
            masks = torch.zeros((num_boxes, h, w), dtype=torch.uint8)
            for m, (x1, y1, x2, y2) in zip(masks, boxes.long().tolist()):
                m[y1:y2, x1:x2] = 1
            gt.masks = masks
        sample.gt_instances = gt
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def is_detector(cfg: Config) -> bool:
    """Two-stage detectors have an ``roi_head``; everything else is treated as a segmentor."""
    return 'roi_head' in cfg.model


def default_batch_size(cfg: Config, task: str, batch_size: Optional[int] = None) -> int:
    """``batch_size`` when given, else the train loader's (train, data) or 1 (inference)."""
    if batch_size:
        return batch_size
    return cfg.train_dataloader.batch_size if task in ('train', 'data') else 1


def _num_classes(cfg: Config) -> int:
    if is_detector(cfg):
        return cfg.model.roi_head.bbox_head.num_classes
    head = cfg.model.decode_head
    return head.get('num_classes', 2) if isinstance(head, dict) else head[-1]['num_classes']


def benchmark_batches(cfg: Config, task: str, batch_size: int,
                      shape: Optional[Sequence[int]] = None,
                      config_name: Optional[str] = None) -> Iterator[dict]:
    """Endless batches: one random batch of ``shape`` repeated, or the config's data loader.

    Args:
        cfg: The resolved config (its ``model`` says segmentor or detector).
        task: ``'train'`` or ``'data'`` read the train loader, ``'inference'`` the test loader.
        batch_size: Images per batch.
        shape: ``(H, W)`` of random images (random label maps for segmentors; 3 random boxes,
            labels and masks per image for detectors); None for the data loader.
        config_name: How errors name the config (default: ``cfg.filename``).

    Raises:
        ValueError: no ``shape`` and the config has no loader for ``task``.
    """
    if shape:
        if is_detector(cfg):
            batch = random_det_batch(batch_size, tuple(shape), _num_classes(cfg),
                                     with_mask=cfg.model.roi_head.get('mask_head') is not None)
        else:
            batch = random_seg_batch(batch_size, tuple(shape), _num_classes(cfg))
        return itertools.repeat(batch)
    key = 'train_dataloader' if task in ('train', 'data') else 'test_dataloader'
    if key not in cfg:
        raise ValueError(f'{config_name or cfg.filename} has no {key}; pass --shape H W for '
                         'random inputs')
    loader = Runner.build_dataloader(dict(cfg[key], batch_size=batch_size))
    return itertools.chain.from_iterable(itertools.repeat(loader))
