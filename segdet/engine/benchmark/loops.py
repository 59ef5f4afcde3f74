"""Benchmark loops: training s/iter, inference s/im and data-loader img/s of a model.

Peak memory is CUDA ``max_memory_allocated`` on GPUs and the process's peak resident set size
on CPUs (:mod:`.memory`). Inference is also split into network and post-processing
(maskrcnn-benchmark reports "network + post-processing" s/im): the methods that
:func:`postprocess_methods` names are timed inside each step, and the network time is the rest
of the step (pre-processing and forward) as measured by its own clocks, so network +
post-processing can be compared with the end-to-end step time.
"""
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator, Optional

import torch
from mmengine.optim import build_optim_wrapper

from segdet.engine.optimizers import autocast_enabled, inference_autocast
from .flops import inference_flops
from .timing import device_sync, timed_loop, timed_methods


@contextmanager
def recorded_input_shapes(model: torch.nn.Module) -> Iterator[list[list[int]]]:
    """Within the block, collect the distinct ``[H, W]`` of the network's input batches.

    The sizes are read from what ``model.data_preprocessor`` returns (after its padding), so
    they are the sizes the network actually ran on; a model without a data pre-processor
    module gives an empty list.
    """
    shapes: list[list[int]] = []

    def record(module: torch.nn.Module, args: Any, output: Any) -> None:
        inputs = output.get('inputs') if isinstance(output, dict) else None
        if isinstance(inputs, torch.Tensor) and inputs.dim() >= 2:
            shape = [int(s) for s in inputs.shape[-2:]]
            if shape not in shapes:
                shapes.append(shape)
    preprocessor = getattr(model, 'data_preprocessor', None)
    handle = (preprocessor.register_forward_hook(record)
              if isinstance(preprocessor, torch.nn.Module) else None)
    try:
        yield shapes
    finally:
        if handle is not None:
            handle.remove()


def benchmark_train(model: torch.nn.Module, optim_wrapper: Any, batches: Iterator[dict],
                    warmup: int = 5, iters: int = 20, device: str = 'cpu',
                    progress: bool = False) -> dict:
    """Time ``model.train_step`` (forward, backward, optimizer step) per iteration.

    Returns:
        ``s_per_iter`` (mean over the timed iterations), ``data_time`` (mean seconds to fetch
        a batch), ``times`` (each timed iteration), ``warmup``, ``iters``, ``input_shapes``
        (see :func:`recorded_input_shapes`).
    """
    model.train()
    with recorded_input_shapes(model) as shapes:
        out = timed_loop(lambda data: model.train_step(data, optim_wrapper), iters, warmup,
                         fetch=lambda: next(batches), sync=device_sync(device),
                         progress=progress)
    return dict(s_per_iter=sum(out.step_times) / iters, times=out.step_times,
                data_time=sum(out.fetch_times) / iters, warmup=warmup, iters=iters,
                warmup_times=out.warmup_step_times,
                input_shapes=shapes)


def postprocess_methods(model: torch.nn.Module) -> dict[str, tuple[Any, str]]:
    """What counts as post-processing in ``model.test_step``: ``{label: (owner, method)}``.

    Segmentors: ``postprocess_result`` (undo padding/flip, resize the logits to the original
    size, argmax). Two-stage detectors: the box head's ``predict_by_feat`` (box decoding,
    score threshold, per-class NMS) and, with masks, the mask head's ``predict_by_feat``
    (sigmoid and pasting the masks into the original image); the RPN's proposals (decoding,
    NMS) feed the second stage and count as network. Other models: nothing.
    """
    roi_head = getattr(model, 'roi_head', None)
    if roi_head is not None:
        methods = {'bbox': (roi_head.bbox_head, 'predict_by_feat')}
        if getattr(roi_head, 'with_mask', False):
            methods['mask_paste'] = (roi_head.mask_head, 'predict_by_feat')
        return methods
    if hasattr(model, 'postprocess_result'):
        return {'seg_resize_argmax': (model, 'postprocess_result')}
    return {}


def benchmark_inference(model: torch.nn.Module, batches: Iterator[dict], warmup: int = 5,
                        iters: int = 20, device: str = 'cpu',
                        autocast: Optional[Any] = None, progress: bool = False) -> dict:
    """Time ``model.test_step`` per batch, split into network and post-processing.

    Returns:
        ``s_per_iter``, ``data_time``, ``times``, ``warmup``, ``iters``, ``input_shapes`` as
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
    with recorded_input_shapes(model) as shapes:
        out = timed_loop(step, iters, warmup, fetch=lambda: next(batches), sync=sync,
                         progress=progress)
    timed = splits[warmup:]
    return dict(s_per_iter=sum(out.step_times) / iters, times=out.step_times,
                data_time=sum(out.fetch_times) / iters, warmup=warmup, iters=iters,
                warmup_times=out.warmup_step_times,
                input_shapes=shapes,
                network_time=sum(t[0] for t in timed) / iters,
                postprocess_time=sum(t[1] for t in timed) / iters,
                postprocess_parts={k: sum(t[2][k] for t in timed) / iters for k in post},
                network_times=[t[0] for t in timed], postprocess_times=[t[1] for t in timed])


def benchmark_data(batches: Iterator[dict], batch_size: int, warmup: int = 5, iters: int = 20,
                   progress: bool = False) -> dict:
    """Throughput of a data loader: images per second over ``iters`` batches after warm-up.

    Returns:
        ``img_per_s``, ``s_per_batch``, ``times`` (each batch), ``warmup``, ``iters``.
    """
    out = timed_loop(lambda data: None, iters, warmup, fetch=lambda: next(batches),
                     progress=progress)
    total = sum(out.fetch_times)
    return dict(img_per_s=batch_size * iters / total if total > 0 else float('inf'),
                s_per_batch=total / iters, times=out.fetch_times, warmup=warmup,
                iters=iters)


def combine_repeats(runs: list[dict], batch_size: int, task: str) -> dict:
    """Means over repeated runs (and their standard deviation); per image figures for
    inference; ``repeats`` keeps each run's summary, ``times`` every timed iteration and
    ``input_shapes`` the distinct network input sizes of all runs."""
    def mean_std(values: list[float]) -> tuple[float, float]:
        t = torch.tensor(values, dtype=torch.float64)
        return t.mean().item(), (t.std().item() if len(values) > 1 else 0.0)
    keys = ['s_per_iter', 'data_time']
    if task == 'inference':
        keys += ['network_time', 'postprocess_time']
    summaries = [{k: run[k] for k in keys} for run in runs]
    if task == 'inference':
        for summary, run in zip(summaries, runs):
            summary['s_per_image'] = run['s_per_iter'] / batch_size
            summary['network_s_per_image'] = run['network_time'] / batch_size
            summary['postprocess_s_per_image'] = run['postprocess_time'] / batch_size
            summary['postprocess_parts_s_per_image'] = {
                k: v / batch_size for k, v in run['postprocess_parts'].items()}
        keys += ['s_per_image', 'network_s_per_image', 'postprocess_s_per_image']
    result = dict(warmup=runs[0]['warmup'], iters=runs[0]['iters'], repeat_times=len(runs),
                  repeats=summaries, times=[t for run in runs for t in run['times']],
                  warmup_times=runs[0]['warmup_times'])
    for key in keys:
        result[key], result[key + '_std'] = mean_std([s[key] for s in summaries])
    if task == 'inference':
        result['network_plus_postprocess_s_per_image'] = (
            result['network_s_per_image'] + result['postprocess_s_per_image'])
        result['postprocess_parts_s_per_image'] = {
            k: sum(s['postprocess_parts_s_per_image'][k] for s in summaries) / len(runs)
            for k in summaries[0]['postprocess_parts_s_per_image']}
        result['network_times'] = [t for run in runs for t in run['network_times']]
        result['postprocess_times'] = [t for run in runs for t in run['postprocess_times']]
    shapes: list[list[int]] = []
    for run in runs:
        shapes += [s for s in run.get('input_shapes', []) if s not in shapes]
    result['input_shapes'] = shapes
    return result


def run_model_benchmark(model: torch.nn.Module, task: str, batches: Iterator[dict],
                        batch_size: int, warmup: int = 5, iters: int = 20,
                        repeat_times: int = 1, device: str = 'cpu',
                        optim_wrapper_cfg: Optional[dict] = None, amp: bool = False,
                        amp_dtype: Optional[str] = None, flops: bool = False,
                        progress: bool = False) -> dict:
    """``repeat_times`` runs of :func:`benchmark_train` or :func:`benchmark_inference`.

    Args:
        model: The built model, on ``device``.
        task: ``'train'`` or ``'inference'``.
        batches: Endless collated batches (:func:`.inputs.benchmark_batches`).
        batch_size: Images per batch (turns s/iter into s/im).
        warmup: Untimed iterations at the start of each run.
        iters: Timed iterations per run.
        repeat_times: Runs, each with its own warm-up.
        device: ``'cpu'`` or a CUDA device.
        optim_wrapper_cfg: The config's ``optim_wrapper`` (train; an ``AmpOptimWrapper``
            autocasts).
        amp: Inference under :func:`inference_autocast` with ``amp_dtype``.
        amp_dtype: ``'float16'``, ``'bfloat16'`` or None (the device's default).
        flops: Inference: also count the network's FLOPs per image on one batch.
        progress: Show a progress bar per run.

    Returns:
        :func:`combine_repeats`'s figures, plus ``autocast`` (whether autocast was on) and,
        with ``flops``, ``flops_per_image`` (None for models without a tensor-mode forward).

    Raises:
        ValueError: an unknown ``task``.
    """
    device_type = 'cuda' if device.startswith('cuda') else 'cpu'
    if task == 'train':
        optim_wrapper = build_optim_wrapper(model, optim_wrapper_cfg)
        autocast_on = bool(getattr(optim_wrapper, 'enabled', False))
        runs = [benchmark_train(model, optim_wrapper, batches, warmup, iters, device, progress)
                for _ in range(repeat_times)]
    elif task == 'inference':
        autocast_on = bool(amp and autocast_enabled(amp_dtype, device_type))
        context = inference_autocast(device_type, amp_dtype) if amp else None
        runs = [benchmark_inference(model, batches, warmup, iters, device, context, progress)
                for _ in range(repeat_times)]
    else:
        raise ValueError(f"task must be 'train' or 'inference', got {task!r}")
    result = dict(autocast=autocast_on, **combine_repeats(runs, batch_size, task))
    if flops and task == 'inference':
        result['flops_per_image'] = inference_flops(model, next(batches))
    return result
