"""Benchmarking in one place, used by ``tools/benchmark.py``, ``TrainBenchmarkHook`` and the
speed experiments in ``.dev_scripts/``.

- :mod:`.timing`: the device-sync helper and the one timing loop (warm-up, then timed
  iterations, inputs fetched outside the step's clock).
- :mod:`.memory`: peak and current memory.
- :mod:`.flops`: FLOP counts (MAC = 2 FLOPs) and matmul throughput.
- :mod:`.inputs`: random batches or a config's data loader.
- :mod:`.build`: the model to time.
- :mod:`.loops`: training, inference and data-loader benchmarks, repeats combined.
- :mod:`.report`: tables, JSON and the environment.
"""
from .build import build_benchmark_model, flops_countable, fold_batchnorm
from .flops import (FlopCount, count_flops, gflops_per_second, inference_flops, matmul_flops,
                    measure_matmul_throughput)
from .inputs import (benchmark_batches, default_batch_size, is_detector, random_det_batch,
                     random_seg_batch)
from .loops import (benchmark_data, benchmark_inference, benchmark_train, combine_repeats,
                    postprocess_methods, recorded_input_shapes, run_model_benchmark)
from .memory import cpu_rss_mb, peak_memory_mb
from .report import (DATA_TASK_COLUMNS, Column, add_flop_rates, cpu_model_name,
                     environment_info, format_shapes, format_table, headline,
                     model_task_columns, print_report, table_rows)
from .timing import (LoopTimes, TimingResult, device_sync, mean_after_warmup, time_callable,
                     timed_loop, timed_methods)

__all__ = [
    'build_benchmark_model', 'flops_countable', 'fold_batchnorm', 'FlopCount', 'count_flops',
    'gflops_per_second', 'inference_flops', 'matmul_flops', 'measure_matmul_throughput',
    'benchmark_batches', 'default_batch_size', 'is_detector', 'random_det_batch',
    'random_seg_batch', 'benchmark_data', 'benchmark_inference', 'benchmark_train',
    'combine_repeats', 'postprocess_methods', 'recorded_input_shapes', 'run_model_benchmark',
    'cpu_rss_mb', 'peak_memory_mb', 'DATA_TASK_COLUMNS', 'Column', 'add_flop_rates',
    'cpu_model_name', 'environment_info', 'format_shapes', 'format_table', 'headline',
    'model_task_columns', 'print_report', 'table_rows', 'LoopTimes', 'TimingResult',
    'device_sync', 'mean_after_warmup', 'time_callable', 'timed_loop', 'timed_methods'
]
