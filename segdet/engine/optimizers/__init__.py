"""Optimizer wrappers."""
from .amp_optim_wrapper import (NO_NATIVE_BF16, AmpOptimWrapper, bf16_is_emulated,
                                cpu_supports_bf16, resolve_amp_dtype)

__all__ = ['AmpOptimWrapper', 'NO_NATIVE_BF16', 'bf16_is_emulated', 'cpu_supports_bf16',
           'resolve_amp_dtype']
