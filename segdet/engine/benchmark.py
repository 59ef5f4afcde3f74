"""Timing loops behind ``tools/benchmark.py``: training s/iter and inference s/im of a model.

Conventions (mmsegmentation's): warm-up iterations are run and not timed; the device is
synchronised before every clock read; data loading is timed separately from the step (train)
and is not part of the network time (inference). Peak memory is CUDA ``max_memory_allocated``
on GPUs and the process's peak resident set size on CPUs.

Inference is also split into network and post-processing (maskrcnn-benchmark reports
"network + post-processing" s/im): the methods that :func:`postprocess_methods` names are
timed inside each step, and the network time is the rest of the step (pre-processing and
forward) as measured by its own clocks, so network + post-processing can be compared with
the end-to-end step time.
"""
import resource
import sys
import time
from contextlib import contextmanager, nullcontext
from typing import Any, Callable, Iterator, Optional

import torch
from mmengine.structures import InstanceData, PixelData
from mmengine.utils import ProgressBar

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


def device_sync(device: str) -> Callable[[], None]:
    """What to call before reading a clock on ``device``."""
    return torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)


def peak_memory_mb(device: str) -> float:
    """CUDA peak allocated memory, or the process's peak RSS on CPU, in MiB."""
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == 'darwin' else peak / 2**10  # bytes on macOS, KiB else


def _loop(batches: Iterator[dict], step: Callable[[dict], Any], warmup: int, iters: int,
          sync: Callable[[], None], progress: bool) -> dict:
    bar = ProgressBar(warmup + iters) if progress else None
    step_times, data_times = [], []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        data = next(batches)
        sync()
        t1 = time.perf_counter()
        step(data)
        sync()
        t2 = time.perf_counter()
        if i >= warmup:
            step_times.append(t2 - t1)
            data_times.append(t1 - t0)
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    return dict(step_times=step_times, data_times=data_times)


def benchmark_train(model: torch.nn.Module, optim_wrapper: Any, batches: Iterator[dict],
                    warmup: int = 5, iters: int = 20, device: str = 'cpu',
                    progress: bool = False) -> dict:
    """Time ``model.train_step`` (forward, backward, optimizer step) per iteration.

    Returns:
        ``s_per_iter`` (mean over the timed iterations), ``data_time`` (mean seconds to fetch
        a batch), ``times`` (each timed iteration), ``warmup``, ``iters``.
    """
    model.train()
    out = _loop(batches, lambda data: model.train_step(data, optim_wrapper), warmup, iters,
                device_sync(device), progress)
    return dict(s_per_iter=sum(out['step_times']) / iters, times=out['step_times'],
                data_time=sum(out['data_times']) / iters, warmup=warmup, iters=iters)


def postprocess_methods(model: torch.nn.Module) -> dict[str, tuple[Any, str]]:
    """What counts as post-processing in ``model.test_step``: ``{label: (owner, method)}``.

    Segmentors: ``postprocess_result`` (undo padding/flip, resize the logits to the original
    size, argmax). Two-stage detectors: the box head's ``predict_single`` (box decoding, score
    threshold, per-class NMS) and, with masks, the mask head's ``predict_single`` (sigmoid and
    pasting the masks into the original image); the RPN's proposals (decoding, NMS) feed the
    second stage and count as network. Other models: nothing.
    """
    roi_head = getattr(model, 'roi_head', None)
    if roi_head is not None:
        methods = {'bbox': (roi_head.bbox_head, 'predict_single')}
        if getattr(roi_head, 'with_mask', False):
            methods['mask_paste'] = (roi_head.mask_head, 'predict_single')
        return methods
    if hasattr(model, 'postprocess_result'):
        return {'seg_resize_argmax': (model, 'postprocess_result')}
    return {}


@contextmanager
def timed_methods(methods: dict[str, tuple[Any, str]], sync: Callable[[], None]
                  ) -> Iterator[dict[str, float]]:
    """Within the block, accumulate the seconds spent in each ``owner.method`` per label.

    The methods are replaced by timing wrappers on their instances (``nn.Module.__call__``
    finds an instance ``forward`` too) and restored on exit.
    """
    totals = {label: 0.0 for label in methods}
    saved = []
    for label, (owner, name) in methods.items():
        original = getattr(owner, name)

        def timed(*args: Any, _fn: Callable = original, _label: str = label, **kwargs: Any
                  ) -> Any:
            sync()
            t0 = time.perf_counter()
            try:
                return _fn(*args, **kwargs)
            finally:
                sync()
                totals[_label] += time.perf_counter() - t0
        saved.append((owner, name, vars(owner).get(name)))
        setattr(owner, name, timed)
    try:
        yield totals
    finally:
        for owner, name, previous in reversed(saved):
            if previous is None:
                delattr(owner, name)
            else:
                setattr(owner, name, previous)


def benchmark_inference(model: torch.nn.Module, batches: Iterator[dict], warmup: int = 5,
                        iters: int = 20, device: str = 'cpu',
                        autocast: Optional[Any] = None, progress: bool = False) -> dict:
    """Time ``model.test_step`` per batch, split into network and post-processing.

    Returns:
        ``s_per_iter``, ``data_time``, ``times``, ``warmup``, ``iters`` as
        :func:`benchmark_train` (end to end: pre-processing, network, post-processing), and
        per batch: ``network_time`` (pre-processing + forward without the post-processing of
        :func:`postprocess_methods`), ``postprocess_time``, ``postprocess_parts`` (seconds per
        label), ``network_times`` / ``postprocess_times`` (each timed iteration).
    """
    model.eval()
    sync = device_sync(device)
    post = postprocess_methods(model)
    outer = {'forward': (model, 'forward')}
    if isinstance(getattr(model, 'data_preprocessor', None), torch.nn.Module):
        outer['preprocess'] = (model.data_preprocessor, 'forward')
    splits = []

    def step(data: dict) -> None:
        with torch.no_grad(), (autocast if autocast is not None else nullcontext()), \
                timed_methods(outer, sync) as outer_t, timed_methods(post, sync) as post_t:
            model.test_step(data)
        post_s = sum(post_t.values())
        splits.append((sum(outer_t.values()) - post_s, post_s, post_t))
    out = _loop(batches, step, warmup, iters, sync, progress)
    timed = splits[warmup:]
    return dict(s_per_iter=sum(out['step_times']) / iters, times=out['step_times'],
                data_time=sum(out['data_times']) / iters, warmup=warmup, iters=iters,
                network_time=sum(t[0] for t in timed) / iters,
                postprocess_time=sum(t[1] for t in timed) / iters,
                postprocess_parts={k: sum(t[2][k] for t in timed) / iters for k in post},
                network_times=[t[0] for t in timed], postprocess_times=[t[1] for t in timed])


def fold_batchnorm(model: torch.nn.Module) -> int:
    """Fold every eval-mode BatchNorm that follows a conv into that conv (in place), with
    ``mmcv.cnn.fuse_conv_bn``; puts ``model`` in eval mode.

    Returns:
        The number of BatchNorm layers folded.
    """
    from mmcv.cnn import fuse_conv_bn

    def count() -> int:
        return sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    before = count()
    model.eval()
    fuse_conv_bn(model)
    return before - count()


def benchmark_data(batches: Iterator[dict], batch_size: int, warmup: int = 5, iters: int = 20,
                   progress: bool = False) -> dict:
    """Throughput of a data loader: images per second over ``iters`` batches after warm-up.

    Returns:
        ``img_per_s``, ``s_per_batch``, ``times`` (each batch), ``warmup``, ``iters``.
    """
    out = _loop(batches, lambda data: None, warmup, iters, lambda: None, progress)
    total = sum(out['data_times'])
    return dict(img_per_s=batch_size * iters / total if total > 0 else float('inf'),
                s_per_batch=total / iters, times=out['data_times'], warmup=warmup,
                iters=iters)


def inference_flops(model: torch.nn.Module, data: dict) -> Optional[int]:
    """FLOPs (2 x multiply-adds) of the network on one pre-processed batch, per image; None
    when the model has no tensor-mode ``_forward`` (only segmentors are counted)."""
    from segdet.utils.benchmark import count_flops
    if not hasattr(model, '_forward') or not hasattr(model, 'data_preprocessor'):
        return None
    with torch.no_grad():
        inputs = model.data_preprocessor(data, False)['inputs']
    counted = count_flops(model, inputs, fn=model._forward)
    return counted.flops // inputs.shape[0]
