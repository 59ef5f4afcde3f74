"""Speed and memory of a training run, in its log: per interval and as a summary at the end."""
import time
from typing import Optional

import torch
from mmengine.hooks import Hook

from segdet.engine.benchmark.memory import cpu_rss_mb, peak_memory_mb
from segdet.engine.benchmark.timing import device_sync, mean_after_warmup
from segdet.registry import HOOKS


@HOOKS.register_module()
class TrainBenchmarkHook(Hook):
    """Log memory with every training log line and a speed summary when training ends.

    Every iteration it records the step time (the device synchronised before each clock read,
    as in ``segdet.engine.benchmark``); mmengine's ``LoggerHook`` already prints time,
    data_time, lr and losses per ``log_interval``, and this hook adds ``memory`` (MiB: CUDA max
    allocated, or the CPU process's RSS, which mmengine leaves out). At the end it logs and
    writes into the run's JSON log (``vis_data/scalars.json``): ``bench/s_per_iter`` (mean over
    the iterations after ``warmup``), ``bench/train_time_s`` (wall time of the whole loop,
    validation included) and ``bench/peak_memory_mb``.

    Args:
        warmup: Iterations left out of the mean (allocator, kernel caches, data workers).
    """

    priority = 'NORMAL'  # after IterTimerHook (NORMAL, registered first), before LoggerHook

    def __init__(self, warmup: int = 5) -> None:
        self.warmup = warmup
        self.step_times: list[float] = []
        self._start: Optional[float] = None
        self._last: Optional[float] = None
        self._device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self._sync = device_sync(self._device)

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._sync()
        self._last = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._last is not None:
            self._sync()
            self.step_times.append(time.perf_counter() - self._last)
        if self._device == 'cuda':
            return  # mmengine's LogProcessor reports CUDA memory itself
        runner.message_hub.update_scalar('train/memory', cpu_rss_mb())

    def summary(self) -> dict:
        """The end-of-run figures (``s_per_iter`` None when no iteration is past warm-up)."""
        return {
            'bench/s_per_iter': mean_after_warmup(self.step_times, self.warmup),
            'bench/timed_iters': len(self.step_times[self.warmup:]),
            'bench/train_time_s': (time.perf_counter() - self._start) if self._start else 0.0,
            'bench/peak_memory_mb': peak_memory_mb(self._device),
        }

    def after_train(self, runner) -> None:
        figures = self.summary()
        mean = figures['bench/s_per_iter']
        runner.logger.info(
            'TrainBenchmarkHook: ' + (f'{mean:.4f} s/iter over {figures["bench/timed_iters"]} '
                                      f'iterations after {self.warmup} warm-up'
                                      if mean is not None else 'no iteration after warm-up') +
            f'; training took {figures["bench/train_time_s"]:.1f} s; peak memory '
            f'{figures["bench/peak_memory_mb"]:.0f} MiB')
        runner.visualizer.add_scalars({k: v for k, v in figures.items() if v is not None},
                                      step=runner.iter)
