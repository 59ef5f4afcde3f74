"""Keep freed memory in the process on CPU runs (glibc ``mallopt``), instead of unmapping it.

glibc serves every allocation above 32 MiB with its own ``mmap`` and unmaps it on ``free``. A
CPU forward pass of a segmentation model allocates and frees many such tensors (one R-50-D8
feature map at 512x1024 is 64-128 MiB), so each layer's output is faulted in again, page by
page, by the kernel: seconds of system time per 512x1024 PSPNet forward, and more per image
the larger the batch (figures in docs/benchmarks.md, "Why keep_freed_memory matters"). With mmap
disabled and trimming raised, freed blocks stay in the heap and are reused: the page faults of a
repeated forward drop to about zero. PyTorch's CPU performance guide recommends jemalloc or TCMalloc for the same reason; this
needs no extra library. The price: the process keeps its peak heap (RSS does not shrink).

Opt out with ``SEGDET_KEEP_FREED_MEMORY=0``.
"""
import ctypes
import os
import platform

# glibc <malloc.h> parameter numbers.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4

ENV_VAR = 'SEGDET_KEEP_FREED_MEMORY'
_applied = False


def keep_freed_memory(trim_threshold: int = 2**31 - 1) -> bool:
    """Tell glibc's malloc not to ``mmap`` large blocks and to trim the heap only above
    ``trim_threshold`` bytes.

    Args:
        trim_threshold: Free bytes at the top of the heap kept before memory is returned to
            the system (a C ``int``: at most 2**31 - 1).

    Returns:
        True when the settings are in force (now or from an earlier call); False on systems
        without glibc's ``mallopt`` or when ``SEGDET_KEEP_FREED_MEMORY=0``.
    """
    global _applied
    if _applied:
        return True
    if os.environ.get(ENV_VAR, '1') == '0' or platform.system() != 'Linux':
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other C libraries
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1
    return _applied
