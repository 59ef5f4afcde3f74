"""FLOP counts and FLOP rates: model FLOPs (a JIT trace) and matmul throughput.

FLOP convention used throughout: **one multiply-accumulate (MAC) = 2 FLOPs**.
``mmengine.analysis.FlopAnalyzer`` (fvcore's counter) reports one MAC as one "flop", so
:func:`count_flops` doubles its total; :func:`matmul_flops` counts ``2 * m * n * k`` for an
(m, k) x (k, n) product. Model and matmul GFLOP/s are therefore directly comparable.
"""
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from .timing import time_callable


def matmul_flops(m: int, n: Optional[int] = None, k: Optional[int] = None) -> int:
    """FLOPs of an (m, k) x (k, n) matrix product: ``2 * m * n * k`` (n, k default to m)."""
    n = m if n is None else n
    k = m if k is None else k
    return 2 * m * n * k


def gflops_per_second(flops: float, seconds: float) -> float:
    """Throughput in GFLOP/s (1e9 FLOPs per second)."""
    if seconds <= 0:
        raise ValueError(f'gflops_per_second needs a positive time, got {seconds} s')
    return flops / seconds / 1e9


def measure_matmul_throughput(sizes: Sequence[int] = (1024, 2048, 4096),
                              repeats: int = 5,
                              warmup: int = 1,
                              dtype: torch.dtype = torch.float32,
                              device: Union[str, torch.device] = 'cpu',
                              min_time: float = 0.2,
                              sync: Optional[Callable[[], None]] = None,
                              log: Optional[Callable[[str], None]] = None) -> dict:
    """Best-of-``repeats`` throughput of square ``torch.matmul`` at each size.

    Each timed sample runs the product enough times to last about ``min_time`` seconds, so
    small sizes are not dominated by clock resolution and call overhead.

    Args:
        sizes: Matrix sizes n of the (n, n) x (n, n) products.
        repeats: Timed samples per size; the fastest counts.
        warmup: Untimed products per size first.
        dtype: Element type, e.g. ``torch.float32``.
        device: Device of the matrices.
        min_time: Target seconds per timed sample.
        sync: Device synchronisation before reading the clock (None on CPU).
        log: Called with one progress line per size.

    Returns:
        ``{'dtype', 'sizes': {str(n): {'gflops_per_s', 'seconds_per_matmul', 'inner'}},
        'peak_gflops_per_s', 'peak_size'}``; the peak is the maximum over sizes.
    """
    gen = torch.Generator(device='cpu').manual_seed(0)
    dtype_name = str(dtype).replace('torch.', '')
    results = {}
    for n in sizes:
        a = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
        b = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
        c = torch.empty(n, n, device=device, dtype=dtype)
        with torch.inference_mode():
            # The warm-up also estimates one product's time, to choose the inner loop length.
            probe, _ = time_callable(lambda: torch.matmul(a, b, out=c), warmup=warmup,
                                     repeats=1, sync=sync)
            inner = max(1, round(min_time / max(probe.min, 1e-9)))

            def run() -> None:
                for _ in range(inner):
                    torch.matmul(a, b, out=c)

            timing, _ = time_callable(run, warmup=0, repeats=repeats, sync=sync)
        seconds = timing.min / inner
        results[str(n)] = dict(gflops_per_s=gflops_per_second(matmul_flops(n), seconds),
                               seconds_per_matmul=seconds, inner=inner)
        if log is not None:
            log(f'matmul {n}x{n} {dtype_name}: '
                f'{results[str(n)]["gflops_per_s"]:.1f} GFLOP/s '
                f'(best of {repeats} x {inner} products)')
    peak_size = max(results, key=lambda s: results[s]['gflops_per_s'])
    return dict(dtype=dtype_name, sizes=results,
                peak_gflops_per_s=results[peak_size]['gflops_per_s'], peak_size=int(peak_size))


class _CallableModule(nn.Module):
    """Lets the tracer of FlopAnalyzer follow any callable over a model's modules."""

    def __init__(self, fn: Callable[..., Any], owner: Optional[nn.Module]) -> None:
        super().__init__()
        self.fn = fn
        self.owner = owner  # registered so the owner's modules get their scope names

    def forward(self, *inputs: Any) -> Any:
        return self.fn(*inputs)


@dataclass
class FlopCount:
    """FLOPs of one call, MAC = 2 FLOPs (see the module docstring).

    Attributes:
        flops: 2 x FlopAnalyzer's total.
        macs: FlopAnalyzer's total (its "flops", one per multiply-accumulate).
        by_operator: FlopAnalyzer's count per traced operator (MAC units).
        unsupported_ops: Traced operators it has no handle for (counted as 0), with counts.
    """

    flops: int
    macs: int
    by_operator: dict[str, int]
    unsupported_ops: dict[str, int]

    def to_dict(self) -> dict:
        return asdict(self)


def attention_macs(inputs: list, outputs: list) -> int:
    """FlopAnalyzer handle of ``aten::scaled_dot_product_attention``: the two matrix products
    (B x L x S x E for Q K^T, B x L x S x Ev for the weighted sum); the softmax is not counted,
    like other element-wise operators.

    Args:
        inputs: The traced op's inputs; the first three are Q (..., L, E), K (..., S, E),
            V (..., S, Ev).
        outputs: Unused.
    """
    from mmengine.analysis.jit_handles import get_shape

    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = 1
    for size in q[:-2]:
        batch *= size
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


def count_flops(model: nn.Module, inputs: Union[Tensor, tuple],
                fn: Optional[Callable[..., Any]] = None) -> FlopCount:
    """Count FLOPs with ``mmengine.analysis.FlopAnalyzer`` (a JIT trace of one call).

    Non-MAC operators that FlopAnalyzer counts (batch norm, bilinear upsampling, adaptive
    pooling) are doubled too; in convolutional networks they are well under 1 % of the total.

    Args:
        model: The module whose operators are counted.
        inputs: Positional inputs of the call (a tensor or a tuple of them).
        fn: Callable to trace instead of ``model.__call__`` (e.g. ``model.encode_decode``
            with its metainfo bound); its outputs must be tensors, tuples or dicts of them.

    Returns:
        The counts for one call with these inputs.
    """
    from mmengine.analysis import FlopAnalyzer  # imports rich etc.; keep module import cheap

    inputs = inputs if isinstance(inputs, tuple) else (inputs, )
    target = model if fn is None else _CallableModule(fn, model)
    analyzer = FlopAnalyzer(target, inputs)
    analyzer.set_op_handle('aten::scaled_dot_product_attention', attention_macs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # TracerWarnings about data-dependent Python values
        macs = int(analyzer.total())
        by_operator = {k: int(v) for k, v in analyzer.by_operator().items()}
        unsupported = {k: int(v) for k, v in analyzer.unsupported_ops().items()}
    return FlopCount(flops=2 * macs, macs=macs, by_operator=by_operator,
                     unsupported_ops=unsupported)


def inference_flops(model: nn.Module, data: dict) -> Optional[int]:
    """FLOPs (2 x multiply-adds) of the network on one pre-processed batch, per image.

    Args:
        model: A segmentor with a tensor-mode ``_forward`` and a ``data_preprocessor``.
        data: A collated batch (``inputs``, ``data_samples``).

    Returns:
        FLOPs per image, or None when the model has no tensor-mode ``_forward`` (only
        segmentors are counted: a detector's RoI heads run on its proposals).
    """
    if not hasattr(model, '_forward') or not hasattr(model, 'data_preprocessor'):
        return None
    with torch.no_grad():
        inputs = model.data_preprocessor(data, False)['inputs']
    counted = count_flops(model, inputs, fn=model._forward)
    return counted.flops // inputs.shape[0]
