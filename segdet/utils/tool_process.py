"""Process set-up shared by segdet's command-line tools (``tools/train.py``, ``tools/test.py``)."""
import os
import sys

import torch

from .cpu_allocator import keep_freed_memory


def prepare_tool_process() -> None:
    """Put the working directory on ``sys.path`` and, without CUDA, keep freed memory.

    Run from the repository root, configs' ``custom_imports`` (e.g. ``'projects.x.y'``) then
    resolve against it, as they would with ``python -m``; a script's ``sys.path[0]`` is its own
    folder instead. On a CPU run, :func:`keep_freed_memory` lets large freed tensors be reused
    instead of faulted in again.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if not torch.cuda.is_available():
        keep_freed_memory()
