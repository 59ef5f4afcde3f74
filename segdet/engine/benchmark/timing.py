"""The one device-sync helper and the one timing loop of segdet's benchmarks.

Conventions (mmsegmentation's): warm-up iterations run first and are not timed; the device is
synchronised before every clock read; fetching the inputs of an iteration is timed separately
from the step itself.
"""
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Optional

import torch
from mmengine.utils import ProgressBar


def device_sync(device: str) -> Callable[[], None]:
    """What to call before reading a clock on ``device`` (``'cpu'``, ``'cuda'``, ``'cuda:1'``).

    CUDA kernels run asynchronously, so the clock is read after ``torch.cuda.synchronize``;
    CPU work is synchronous and needs nothing.
    """
    return torch.cuda.synchronize if str(device).startswith('cuda') else (lambda: None)


@dataclass
class LoopTimes:
    """Seconds of each timed iteration of :func:`timed_loop` (warm-up excluded), in run order.

    Attributes:
        step_times: Seconds in ``step`` per iteration.
        fetch_times: Seconds in ``fetch`` per iteration (about 0 without one).
        warmup: Untimed iterations run first.
        output: What the last ``step`` returned.
        warmup_step_times: Seconds in ``step`` of each warm-up iteration (kept apart: the first
            includes one-off costs such as ``torch.compile``'s compilation).
    """

    step_times: list[float]
    fetch_times: list[float]
    warmup: int
    output: Any = None
    warmup_step_times: list[float] = field(default_factory=list)


def timed_loop(step: Callable[[Any], Any], iters: int, warmup: int = 0,
               fetch: Optional[Callable[[], Any]] = None,
               sync: Optional[Callable[[], None]] = None,
               progress: bool = False) -> LoopTimes:
    """Run ``warmup + iters`` iterations of ``step(fetch())``; time the last ``iters``.

    Each iteration reads the clock, fetches the inputs, synchronises, reads the clock, runs the
    step, synchronises and reads the clock again, so the fetch and the step are timed apart.

    Args:
        step: Called with what ``fetch`` returned (None without ``fetch``).
        iters: Timed iterations, >= 1.
        warmup: Untimed iterations first (allocator, oneDNN/cuDNN primitive caches, lazy
            initialisation, data workers starting), >= 0.
        fetch: Produces the inputs of one iteration, e.g. ``lambda: next(batches)``.
        sync: Called before each clock read after work, e.g. :func:`device_sync`'s result;
            None on CPU.
        progress: Show a progress bar on stdout.

    Returns:
        The times of the timed iterations and the last step's output.

    Raises:
        ValueError: ``iters < 1`` or ``warmup < 0``.
    """
    if iters < 1 or warmup < 0:
        raise ValueError(f'a timing loop needs iters >= 1 and warmup >= 0, '
                         f'got iters={iters}, warmup={warmup}')
    sync = sync if sync is not None else (lambda: None)
    bar = ProgressBar(warmup + iters) if progress else None
    step_times, fetch_times, warmup_times, out = [], [], [], None
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        data = fetch() if fetch is not None else None
        sync()
        t1 = time.perf_counter()
        out = step(data)
        sync()
        t2 = time.perf_counter()
        if i >= warmup:
            step_times.append(t2 - t1)
            fetch_times.append(t1 - t0)
        else:
            warmup_times.append(t2 - t1)
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    return LoopTimes(step_times=step_times, fetch_times=fetch_times, warmup=warmup, output=out,
                     warmup_step_times=warmup_times)


@dataclass
class TimingResult:
    """Wall-clock times of the timed runs of one callable, in seconds.

    Attributes:
        times: Seconds of each timed run (warm-up runs excluded), in run order.
        warmup: Number of untimed warm-up runs done before.
    """

    times: list[float]
    warmup: int = 0
    median: float = field(init=False)
    min: float = field(init=False)
    mean: float = field(init=False)

    def __post_init__(self) -> None:
        if not self.times:
            raise ValueError('TimingResult needs at least one timed run (repeats >= 1)')
        self.median = statistics.median(self.times)
        self.min = min(self.times)
        self.mean = statistics.fmean(self.times)

    def to_dict(self) -> dict:
        return asdict(self)


def time_callable(fn: Callable[[], Any], warmup: int = 1, repeats: int = 3,
                  sync: Optional[Callable[[], None]] = None) -> tuple[TimingResult, Any]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed (:func:`timed_loop`).

    Args:
        fn: Callable with no arguments (close over the inputs).
        warmup: Untimed runs first.
        repeats: Timed runs, >= 1.
        sync: Called before reading the clock, e.g. ``torch.cuda.synchronize`` for
            asynchronous devices; None on CPU.

    Returns:
        (timing, output of the last run).
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f'time_callable needs repeats >= 1 and warmup >= 0, '
                         f'got repeats={repeats}, warmup={warmup}')
    loop = timed_loop(lambda _: fn(), repeats, warmup, sync=sync)
    return TimingResult(times=loop.step_times, warmup=warmup), loop.output


def mean_after_warmup(times: list[float], warmup: int) -> Optional[float]:
    """Mean of ``times[warmup:]``; None when no time is past the warm-up."""
    timed = times[warmup:]
    return sum(timed) / len(timed) if timed else None


@contextmanager
def timed_methods(methods: dict[str, tuple[Any, str]], sync: Callable[[], None]
                  ) -> Iterator[dict[str, float]]:
    """Within the block, accumulate the seconds spent in each ``owner.method`` per label.

    The methods are replaced by timing wrappers on their instances (``nn.Module.__call__``
    finds an instance ``forward`` too) and restored on exit.

    Args:
        methods: ``{label: (owner, method name)}``.
        sync: Called before each clock read (see :func:`device_sync`).

    Yields:
        ``{label: seconds}``, filled while the block runs.
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
