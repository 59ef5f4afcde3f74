"""TrainBenchmarkHook: memory in the log lines, a summary that leaves warm-up out."""
import json
import time

from segdet.engine import TrainBenchmarkHook  # noqa: F401  (registered)
from segdet.engine.hooks.train_benchmark_hook import TrainBenchmarkHook as Hook
from toy_runner import toy_runner


def test_summary_excludes_warmup() -> None:
    hook = Hook(warmup=2)
    hook.before_train(None)
    hook.step_times = [1.0, 1.0, 0.1, 0.3]
    figures = hook.summary()
    assert figures['bench/s_per_iter'] == 0.2 and figures['bench/timed_iters'] == 2
    assert figures['bench/peak_memory_mb'] > 0
    hook.step_times = [1.0]
    assert hook.summary()['bench/s_per_iter'] is None


def test_logs_memory_and_writes_summary_to_json_log(tmp_path) -> None:
    work = tmp_path / 'w'
    runner = toy_runner(work, max_iters=6, custom_hooks=[dict(type='TrainBenchmarkHook',
                                                             warmup=2)])
    start = time.perf_counter()
    runner.train()
    elapsed = time.perf_counter() - start
    records = [json.loads(line) for line in
               next(work.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    assert all(r['memory'] > 10 for r in records if 'loss' in r)  # CPU RSS in MiB
    summary = records[-1]
    assert summary['bench/timed_iters'] == 4 and summary['bench/s_per_iter'] > 0
    assert 0 < summary['bench/train_time_s'] <= elapsed
    log = next(work.glob('*/*.log')).read_text()
    assert 's/iter over 4 iterations after 2 warm-up' in log and 'peak memory' in log
