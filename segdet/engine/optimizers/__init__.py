"""Optimizer wrappers."""
from .amp_optim_wrapper import AmpOptimWrapper, cpu_supports_bf16, resolve_amp_dtype

__all__ = ['AmpOptimWrapper', 'cpu_supports_bf16', 'resolve_amp_dtype']
