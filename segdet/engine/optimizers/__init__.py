"""Optimizer wrappers."""
from .amp_optim_wrapper import (NO_NATIVE_BF16, AmpOptimWrapper, autocast_enabled,
                                bf16_is_emulated, cpu_supports_bf16, inference_autocast,
                                resolve_amp_dtype)

__all__ = ['AmpOptimWrapper', 'NO_NATIVE_BF16', 'autocast_enabled', 'bf16_is_emulated',
           'cpu_supports_bf16', 'inference_autocast', 'resolve_amp_dtype']
