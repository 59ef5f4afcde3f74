"""segdet.engine.benchmark.timing: warm-up runs are not timed; the timing statistics."""
import pytest

from segdet.engine.benchmark import TimingResult, time_callable


def test_time_callable_runs_warmup_then_repeats() -> None:
    calls = []
    timing, out = time_callable(lambda: calls.append(len(calls)) or len(calls), warmup=2,
                                repeats=3)
    assert len(calls) == 5 and out == 5
    assert len(timing.times) == 3 and timing.warmup == 2
    assert timing.min <= timing.median <= max(timing.times)
    with pytest.raises(ValueError, match='repeats >= 1'):
        time_callable(lambda: None, repeats=0)


def test_timing_result_statistics() -> None:
    t = TimingResult(times=[3.0, 1.0, 2.0, 10.0])
    assert (t.median, t.min, t.mean) == (2.5, 1.0, 4.0)
    with pytest.raises(ValueError, match='at least one timed run'):
        TimingResult(times=[])


def test_timed_loop_times_fetch_and_step_apart() -> None:
    import time

    from segdet.engine.benchmark import timed_loop
    steps = []

    def step(data):
        steps.append(data)
        time.sleep(0.2 if len(steps) == 1 else 0.01)  # a slow first (warm-up) iteration
        return len(steps)

    fetched = iter(range(10))

    def fetch():
        time.sleep(0.02)
        return next(fetched)

    loop = timed_loop(step, iters=3, warmup=1, fetch=fetch)
    assert steps == [0, 1, 2, 3] and loop.output == 4 and loop.warmup == 1
    assert len(loop.step_times) == len(loop.fetch_times) == 3
    assert all(0.01 <= t < 0.1 for t in loop.step_times)  # the 0.2 s warm-up is left out
    assert all(0.02 <= t < 0.1 for t in loop.fetch_times)
    with pytest.raises(ValueError, match='iters >= 1 and warmup >= 0, got iters=0'):
        timed_loop(step, iters=0)


def test_device_sync_and_mean_after_warmup() -> None:
    import torch

    from segdet.engine.benchmark import device_sync, mean_after_warmup
    assert device_sync('cuda:1') is torch.cuda.synchronize
    assert device_sync('cpu')() is None
    assert mean_after_warmup([5.0, 1.0, 2.0], warmup=1) == 1.5
    assert mean_after_warmup([5.0], warmup=1) is None


def test_timed_methods_accumulate_and_restore() -> None:
    import time

    from segdet.engine.benchmark import timed_methods

    class Owner:
        def work(self, seconds):
            time.sleep(seconds)
            return seconds

    owner = Owner()
    with timed_methods({'w': (owner, 'work')}, sync=lambda: None) as totals:
        assert owner.work(0.01) == 0.01 and owner.work(0.02) == 0.02
    assert 0.03 <= totals['w'] < 0.1
    assert 'work' not in vars(owner)  # the class method is visible again
