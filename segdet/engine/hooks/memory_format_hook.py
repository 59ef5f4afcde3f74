"""Put the model in ``channels_last`` memory format for training and inference.

On CPUs, oneDNN's convolutions run NHWC natively (with bf16 on AMX in particular, the
reference ``--amp`` path); NCHW tensors are reordered at every convolution. Converting the
weights once is enough: a convolution whose weight is channels_last returns a channels_last
output, so the whole network, and its gradients, stay NHWC. Inputs are converted as they
enter the model. Modules without 4-D parameters are unaffected.

One exception on CPUs: oneDNN runs depthwise convolutions with a dilation of 7 or more
(DeepLabV3+'s separable ASPP: 12, 24, 36) several times slower in NHWC than in NCHW, in fp32
and bf16 alike (docs/benchmarks.md, "Mixed precision on an AVX512-BF16 CPU"), while the other
convolutions are faster in NHWC. Each such convolution stays NCHW: its weight is left contiguous, its input
is made contiguous as it enters and its output channels_last as it leaves (two reorders, much
cheaper than the NHWC kernel).
"""
import weakref
from typing import Optional

import torch
from mmengine.hooks import Hook

from segdet.engine.checkpoint_fit import unwrap_model
from segdet.registry import HOOKS

_FORMATS = {'channels_last': torch.channels_last, 'contiguous': torch.contiguous_format}


def _inputs_to(memory_format: torch.memory_format):
    def hook(module, args, kwargs):
        inputs = kwargs.get('inputs', args[0] if args else None)
        if torch.is_tensor(inputs) and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=memory_format)
            if 'inputs' in kwargs:
                kwargs['inputs'] = inputs
            else:
                args = (inputs, ) + tuple(args[1:])
        return args, kwargs
    return hook


#: From this dilation on, oneDNN's NHWC depthwise 3x3 convolution leaves its fast kernel: 3-10x
#: slower than NCHW in fp32 and bf16 (at dilation 6 NHWC is still 2x faster than NCHW).
NHWC_SLOW_DILATION = 7


def is_dilated_depthwise(module: torch.nn.Module) -> bool:
    """Whether ``module`` is a depthwise 2-D convolution (one group per input channel) with a
    dilation of at least :data:`NHWC_SLOW_DILATION`."""
    return (isinstance(module, torch.nn.Conv2d) and module.groups > 1
            and module.groups == module.in_channels
            and max(module.dilation) >= NHWC_SLOW_DILATION)


class _SharedContiguous:
    """Forward pre-hook making a module's 4-D input contiguous, reusing the copy of the last
    input when the next island gets the very same tensor, unchanged (the parallel ASPP
    branches): one reorder instead of one per branch. The copy is dropped when the model's
    forward pass ends."""

    def __init__(self) -> None:
        self.clear()

    def clear(self, *args) -> None:
        """Drop the cached copy (also a forward hook of the whole model: nothing is held, or
        deep-copied with the model, between forward passes)."""
        self._source: Optional[weakref.ref] = None
        self._version = -1
        self._copy: Optional[torch.Tensor] = None

    def __deepcopy__(self, memo: dict) -> '_SharedContiguous':
        return _SharedContiguous()

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.clear()

    def __call__(self, module, args):
        return tuple(self._contiguous(a) if torch.is_tensor(a) and a.dim() == 4 else a
                     for a in args)

    def _contiguous(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_inference():  # no version counter to tell an in-place change: no reuse
            return x.contiguous()
        if self._source is not None and self._source() is x and x._version == self._version:
            return self._copy
        out = x.contiguous()
        self._source, self._version, self._copy = weakref.ref(x), x._version, out
        return out


def _output_channels_last(module, args, output):
    return output.contiguous(memory_format=torch.channels_last)


def to_memory_format(model: torch.nn.Module, memory_format: str = 'channels_last',
                     nchw_islands: Optional[bool] = None) -> list[str]:
    """Convert ``model``'s parameters and, through a forward pre-hook, its 4-D ``inputs``.

    Args:
        model: The (unwrapped) model; called as ``model(inputs, ...)`` or
            ``model(inputs=..., ...)``.
        memory_format: 'channels_last' or 'contiguous'.
        nchw_islands: With 'channels_last', keep the dilated depthwise convolutions in NCHW
            (see the module docstring). Default: on when the model's parameters are on the
            CPU.

    Returns:
        The names of the convolutions kept NCHW.
    """
    if memory_format not in _FORMATS:
        raise ValueError(f'memory_format must be one of {sorted(_FORMATS)}, got {memory_format!r}')
    model.to(memory_format=_FORMATS[memory_format])
    model.register_forward_pre_hook(_inputs_to(_FORMATS[memory_format]), with_kwargs=True)
    if memory_format != 'channels_last':
        return []
    if nchw_islands is None:
        first = next(model.parameters(), None)
        nchw_islands = first is not None and first.device.type == 'cpu'
    if not nchw_islands:
        return []
    kept = []
    to_nchw = _SharedContiguous()
    model.register_forward_hook(to_nchw.clear)
    for name, module in model.named_modules():
        if is_dilated_depthwise(module):
            # A fresh tensor: with one input channel per group, a channels_last weight also
            # passes is_contiguous() while its strides still make oneDNN pick NHWC.
            weight = module.weight.data
            module.weight.data = weight.new_empty(weight.shape).copy_(weight)
            module.register_forward_pre_hook(to_nchw)
            module.register_forward_hook(_output_channels_last)
            kept.append(name)
    return kept


@HOOKS.register_module()
class MemoryFormatHook(Hook):
    """Convert the model (and its 4-D inputs) to ``memory_format`` before the first run.

    Args:
        memory_format: 'channels_last' (default) or 'contiguous'.
    """

    priority = 'VERY_HIGH'

    def __init__(self, memory_format: str = 'channels_last') -> None:
        if memory_format not in _FORMATS:
            raise ValueError(f'MemoryFormatHook: memory_format must be one of {sorted(_FORMATS)},'
                             f' got {memory_format!r}')
        self.memory_format = memory_format
        self._converted = False

    def _convert(self, runner) -> None:
        if self._converted:
            return
        model = unwrap_model(runner.model)  # DDP and tools/test.py --tta wrap the model
        kept = to_memory_format(model, self.memory_format)
        if kept:
            runner.logger.info(f'MemoryFormatHook: {self.memory_format}, except {len(kept)} '
                               'dilated depthwise convolutions kept NCHW (faster on CPUs)')
        self._converted = True

    def before_train(self, runner) -> None:
        self._convert(runner)

    def before_val(self, runner) -> None:
        self._convert(runner)

    def before_test(self, runner) -> None:
        self._convert(runner)
