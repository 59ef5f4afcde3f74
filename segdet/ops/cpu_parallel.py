"""CPU kernels of torchvision run on one thread; these wrappers spread the independent work of
one call (the RoIs of ``roi_align``, the classes of ``batched_nms``) over the intra-op threads.

Results equal torchvision's exactly: RoIs are independent, and the per-class NMS results are
merged the way torchvision merges them. Used only for CPU inputs with enough work and more
than one thread, and (``roi_align``) when no gradient is recorded; otherwise the calls go
straight to torchvision.

Autocast state is per thread, so the worker threads do not see the caller's ``--amp``:
torchvision's autocast wrappers (which run these ops in fp32, having no bf16 / fp16 CPU
kernels) do not apply there. The wrappers do the same themselves: half-precision inputs are
computed in fp32 and ``roi_align``'s output is cast back to the input's dtype.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import torch
from torch import Tensor
from torchvision.ops import batched_nms as tv_batched_nms
from torchvision.ops import nms as tv_nms
from torchvision.ops import roi_align as tv_roi_align

#: Fewer RoIs / boxes than this run in one call (thread hand-off costs more than it saves).
MIN_PARALLEL_ROIS = 64
MIN_PARALLEL_BOXES = 4000

_pool: Optional[ThreadPoolExecutor] = None
_pool_size = 0


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: start a new pool when needed."""
    global _pool, _pool_size
    _pool, _pool_size = None, 0


os.register_at_fork(after_in_child=_forget_pool)


def _threads_for(device: torch.device) -> int:
    return torch.get_num_threads() if device.type == 'cpu' else 1


#: Dtypes torchvision has no CPU kernels of these ops for.
HALF_DTYPES = (torch.bfloat16, torch.float16)


def _fp32(t: Tensor) -> Tensor:
    """``t`` in fp32 when it is bf16 / fp16 (what torchvision's autocast wrappers compute in)."""
    return t.float() if t.dtype in HALF_DTYPES else t


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    if _pool is None or _pool_size != workers:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix='segdet-ops')
        _pool_size = workers
    return _pool


def roi_align(input: Tensor, boxes: Tensor, output_size, spatial_scale: float = 1.0,
              sampling_ratio: int = -1, aligned: bool = False) -> Tensor:
    """``torchvision.ops.roi_align`` on (K, 5) RoIs, split over the CPU threads at inference.

    Half-precision CPU features (``--amp``) are pooled in fp32 with fp32 boxes, as
    torchvision's autocast wrapper does (it has no bf16 / fp16 CPU kernel), on every path; the
    output has the features' dtype. Otherwise the boxes take the features' dtype (the kernels
    read both as one type).

    Args:
        input: (B, C, H, W) features; boxes: (K, 5) ``[batch_index, x1, y1, x2, y2]``.

    Returns:
        (K, C, h, w) pooled features, identical to torchvision's.
    """
    dtype = input.dtype
    if input.device.type == 'cpu' and dtype in HALF_DTYPES:
        input = input.float()
    if isinstance(boxes, Tensor) and boxes.dtype != input.dtype:
        boxes = boxes.to(input.dtype)
    threads = _threads_for(input.device)
    recording = torch.is_grad_enabled() and (input.requires_grad or boxes.requires_grad)
    if (threads < 2 or recording or not isinstance(boxes, Tensor)
            or boxes.shape[0] < MIN_PARALLEL_ROIS):
        return tv_roi_align(input, boxes, output_size, spatial_scale, sampling_ratio,
                            aligned).to(dtype)
    chunks = boxes.tensor_split(threads)
    futures = [_executor(threads).submit(tv_roi_align, input, chunk, output_size,
                                         spatial_scale, sampling_ratio, aligned)
               for chunk in chunks]
    return torch.cat([f.result() for f in futures]).to(dtype)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """``torchvision.ops.batched_nms`` (NMS within each ``idxs`` group), with the groups of a
    large CPU call run on several threads.

    Returns:
        int64 indices of the kept boxes, in decreasing score order (as torchvision).
    """
    threads = _threads_for(boxes.device)
    if threads < 2 or boxes.shape[0] < MIN_PARALLEL_BOXES:
        return tv_batched_nms(boxes, scores, idxs, iou_threshold)
    groups = [torch.where(idxs == g)[0] for g in torch.unique(idxs)]
    pool = _executor(threads)
    boxes32, scores32 = _fp32(boxes), _fp32(scores)
    futures = [pool.submit(tv_nms, boxes32[g], scores32[g], iou_threshold) for g in groups]
    keep_mask = torch.zeros_like(scores, dtype=torch.bool)
    for g, future in zip(groups, futures):
        keep_mask[g[future.result()]] = True
    keep = torch.where(keep_mask)[0]
    return keep[scores[keep].sort(descending=True)[1]]
