"""A progress-bar map over worker processes for the command-line tools."""
import sys
from multiprocessing import Pool
from typing import Any, Callable, Sequence

from mmengine.utils import ProgressBar


def map_with_progress(func: Callable[[Any], Any], tasks: Sequence[Any], nproc: int) -> list:
    """``[func(t) for t in tasks]`` with mmengine's progress bar, in ``nproc`` processes.

    As mmengine's ``track_parallel_progress``, but the pool is closed on the way out: an error
    in a worker then reaches the caller without the pool's clean-up noise at exit.
    """
    # file=sys.stdout: the stdout of now (mmengine's default is the one of its import time).
    bar = ProgressBar(len(tasks), file=sys.stdout)
    results = []
    if nproc > 1:
        with Pool(nproc) as pool:
            for result in pool.imap(func, tasks):
                results.append(result)
                bar.update()
    else:
        for task in tasks:
            results.append(func(task))
            bar.update()
    sys.stdout.write('\n')
    return results
