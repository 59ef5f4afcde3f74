"""Optimizer wrappers."""
from .amp_optim_wrapper import (NATIVE_BF16_FLAGS, NO_NATIVE_BF16, AmpOptimWrapper,
                                autocast_enabled, bf16_is_emulated, cpu_flags, cpu_supports_bf16,
                                inference_autocast, resolve_amp_dtype)

__all__ = ['AmpOptimWrapper', 'NATIVE_BF16_FLAGS', 'NO_NATIVE_BF16', 'autocast_enabled',
           'bf16_is_emulated', 'cpu_flags', 'cpu_supports_bf16', 'inference_autocast',
           'resolve_amp_dtype']
