"""Memory figures of a benchmark or a training run, in MiB."""
import os
import resource
import sys

import torch


def peak_memory_mb(device: str) -> float:
    """CUDA peak allocated memory on a CUDA ``device``, else the process's peak RSS, in MiB."""
    if str(device).startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == 'darwin' else peak / 2**10  # bytes on macOS, KiB else


def cpu_rss_mb() -> float:
    """This process's resident set size now, in MiB (its peak where /proc is unavailable)."""
    try:
        with open('/proc/self/statm') as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf('SC_PAGE_SIZE') / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return peak_memory_mb('cpu')
