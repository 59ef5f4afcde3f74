"""Mixed-precision optimizer wrapper that works on CUDA (fp16 + loss scaling) and CPU (bf16).

mmengine's ``AmpOptimWrapper`` asserts a CUDA device. On CPUs with AMX, bf16 matmul is several
times faster than fp32, and bf16 has fp32's exponent range, so no loss scaling is needed.
Master weights stay fp32: only the forward pass runs under autocast.

On a CPU without native bf16 (no AVX512-BF16 / AMX), oneDNN has no bf16 convolution and
PyTorch falls back to reference kernels that are about an order of magnitude *slower* than
fp32 (figures in docs/benchmarks.md). There the default (``dtype=None``) runs fp32 and warns
once; an explicit ``dtype`` is still honoured.
"""
import warnings
from contextlib import contextmanager
from typing import Iterator, Optional, Union

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from segdet.registry import OPTIM_WRAPPERS

_DTYPES = {'float16': torch.float16, 'fp16': torch.float16, 'half': torch.float16,
           'bfloat16': torch.bfloat16, 'bf16': torch.bfloat16}


#: Why bf16 autocast is skipped by default where :func:`bf16_is_emulated` holds.
NO_NATIVE_BF16 = ('this CPU has no native bf16 (no AVX512-BF16/AMX), where bf16 convolutions '
                  'run several times slower than fp32')

#: /proc/cpuinfo flags of the instructions that make bf16 faster than fp32 on a CPU.
NATIVE_BF16_FLAGS = ('avx512_bf16', 'amx_bf16')


def cpu_flags(cpuinfo: str = '/proc/cpuinfo') -> Optional[frozenset]:
    """The x86 instruction-set flags the kernel reports for the first CPU, or None where the
    file cannot be read (not Linux) or has no ``flags`` line (e.g. ARM, which lists
    ``Features``)."""
    try:
        with open(cpuinfo, encoding='utf-8') as f:
            for line in f:
                if line.startswith('flags'):
                    return frozenset(line.split(':', 1)[1].split())
    except OSError:
        return None
    return None


def cpu_supports_bf16() -> bool:
    """Whether this CPU runs bf16 convolutions and matmuls natively (AVX512-BF16 or AMX).

    oneDNN's own check (``torch.ops.mkldnn._is_mkldnn_bf16_supported``) also says yes on
    AVX-512 CPUs without bf16 instructions, where it converts in software and bf16 runs
    several times slower than fp32; so where /proc/cpuinfo lists x86 flags, a native bf16 flag
    is required too.
    """
    try:
        onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # builds without oneDNN
        return False
    flags = cpu_flags()
    if flags is None:  # not an x86 Linux: trust oneDNN
        return onednn
    return onednn and any(flag in flags for flag in NATIVE_BF16_FLAGS)


def bf16_is_emulated(device_type: str) -> bool:
    """Whether bf16 on ``device_type`` ('cpu' or 'cuda') would run on slow reference kernels."""
    return device_type == 'cpu' and not cpu_supports_bf16()


def resolve_amp_dtype(dtype: Optional[Union[str, torch.dtype]], device_type: str) -> torch.dtype:
    """The autocast dtype: given, else fp16 on CUDA and bf16 on CPU.

    Args:
        dtype: None, a torch dtype or one of 'float16', 'fp16', 'half', 'bfloat16', 'bf16'.
        device_type: 'cuda' or 'cpu'.
    """
    if dtype is None:
        return torch.float16 if device_type == 'cuda' else torch.bfloat16
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise ValueError(f'AmpOptimWrapper: unknown dtype {dtype!r}; use one of {sorted(_DTYPES)}')
    return _DTYPES[dtype]


def autocast_enabled(dtype: Optional[Union[str, torch.dtype]], device_type: str) -> bool:
    """Whether ``--amp`` autocasts on ``device_type``: always, except bf16 on a CPU without
    native bf16 when no dtype was asked for explicitly (the wrapper's rule)."""
    cast = resolve_amp_dtype(dtype, device_type)
    return not (dtype is None and cast == torch.bfloat16 and bf16_is_emulated(device_type))


def inference_autocast(device_type: str, dtype: Optional[Union[str, torch.dtype]] = None):
    """The autocast context ``--amp`` inference uses (see :func:`autocast_enabled`)."""
    return torch.autocast(device_type, dtype=resolve_amp_dtype(dtype, device_type),
                          enabled=autocast_enabled(dtype, device_type))


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """Autocast forward passes; scale fp16 losses dynamically.

    Args:
        loss_scale: 'dynamic', a fixed initial scale (float), or a dict of ``GradScaler``
            arguments. Used only when the autocast dtype is fp16.
        dtype: Autocast dtype; default fp16 on CUDA, bf16 on a CPU with native bf16, and no
            autocast (fp32, with a warning) on a CPU without it.
        device_type: 'cuda' or 'cpu'; default CUDA when available.
        **kwargs: ``OptimWrapper`` arguments (optimizer, accumulative_counts, clip_grad).
    """

    def __init__(self, loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 device_type: Optional[str] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.device_type = device_type or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.cast_dtype = resolve_amp_dtype(dtype, self.device_type)
        self.enabled = autocast_enabled(dtype, self.device_type)
        if self.cast_dtype == torch.bfloat16 and bf16_is_emulated(self.device_type):
            if not self.enabled:
                warnings.warn(f'AmpOptimWrapper: {NO_NATIVE_BF16}; training in fp32. Set '
                              "optim_wrapper.dtype='bfloat16' to force bf16 anyway.")
            else:
                warnings.warn('AmpOptimWrapper: bf16 autocast on a CPU without native bf16 '
                              '(no AVX512-BF16/AMX): expect it to be much slower than fp32.')
        self.loss_scaler: Optional[torch.amp.GradScaler] = None
        self._scale_update_param: Optional[float] = None
        if self.enabled and self.cast_dtype == torch.float16:
            if loss_scale == 'dynamic':
                self.loss_scaler = torch.amp.GradScaler(self.device_type)
            elif isinstance(loss_scale, (int, float)):
                self._scale_update_param = float(loss_scale)
                self.loss_scaler = torch.amp.GradScaler(self.device_type, init_scale=loss_scale)
            elif isinstance(loss_scale, dict):
                self.loss_scaler = torch.amp.GradScaler(self.device_type, **loss_scale)
            else:
                raise ValueError(f"AmpOptimWrapper: loss_scale must be 'dynamic', a number or a "
                                 f'dict, got {loss_scale!r}')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        with super().optim_context(model), torch.autocast(
                self.device_type, dtype=self.cast_dtype, enabled=self.enabled):
            yield
