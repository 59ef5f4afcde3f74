"""Timing loops behind ``tools/benchmark.py``: training s/iter and inference s/im of a model.

Conventions (mmsegmentation's): warm-up iterations are run and not timed; the device is
synchronised before every clock read; data loading is timed separately from the step (train)
and is not part of the network time (inference). Peak memory is CUDA ``max_memory_allocated``
on GPUs and the process's peak resident set size on CPUs.
"""
import resource
import sys
import time
from contextlib import nullcontext
from typing import Any, Callable, Iterator, Optional

import torch
from mmengine.structures import PixelData
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


def benchmark_inference(model: torch.nn.Module, batches: Iterator[dict], warmup: int = 5,
                        iters: int = 20, device: str = 'cpu',
                        autocast: Optional[Any] = None, progress: bool = False) -> dict:
    """Time ``model.test_step`` (pre-processing, forward, resizing back) per batch.

    Returns:
        ``s_per_iter``, ``data_time``, ``times``, ``warmup``, ``iters`` as
        :func:`benchmark_train`.
    """
    model.eval()

    def step(data: dict) -> None:
        with torch.no_grad(), (autocast if autocast is not None else nullcontext()):
            model.test_step(data)
    out = _loop(batches, step, warmup, iters, device_sync(device), progress)
    return dict(s_per_iter=sum(out['step_times']) / iters, times=out['step_times'],
                data_time=sum(out['data_times']) / iters, warmup=warmup, iters=iters)


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
