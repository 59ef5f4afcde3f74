"""Autocast state of this thread, on torch versions with and without the ``device_type``
argument (torch < 2.4 has CPU-only functions)."""
import torch


def autocast_state(device_type: str) -> tuple[bool, torch.dtype]:
    """(enabled, dtype) of autocast for ``device_type`` ('cpu', 'cuda') in this thread."""
    try:
        return torch.is_autocast_enabled(device_type), torch.get_autocast_dtype(device_type)
    except TypeError:
        if device_type == 'cpu':
            return torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
        return torch.is_autocast_enabled(), torch.get_autocast_gpu_dtype()
