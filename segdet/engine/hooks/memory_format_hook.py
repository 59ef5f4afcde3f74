"""Put the model in ``channels_last`` memory format for training and inference.

On CPUs, oneDNN's convolutions run NHWC natively (with bf16 on AMX in particular, the
reference ``--amp`` path); NCHW tensors are reordered at every convolution. Converting the
weights once is enough: a convolution whose weight is channels_last returns a channels_last
output, so the whole network, and its gradients, stay NHWC. Inputs are converted as they
enter the model. Modules without 4-D parameters are unaffected.

One exception on CPUs: oneDNN runs depthwise convolutions with a dilation of 7 or more
(DeepLabV3+'s separable ASPP: 12, 24, 36) several times slower in NHWC than at dilation 1, in
fp32 and bf16 alike (docs/benchmarks.md, "Mixed precision on an AVX512-BF16 CPU"). Each such
convolution runs as an undilated convolution of the map's interleaved sub-images
(:mod:`segdet.ops.space_to_batch`): two copies of whole pixel rows and the fast kernel, faster
than the dilated NHWC kernel and than NCHW with its two reorders.
"""
from typing import Optional

import torch
from mmengine.hooks import Hook

from segdet.engine.checkpoint_fit import unwrap_model
from segdet.ops.space_to_batch import runs_as_space_to_batch, use_space_to_batch
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


#: From this dilation on, oneDNN's NHWC depthwise 3x3 convolution leaves its fast kernel (at
#: dilation 6 it is still 2-4x faster than space-to-batch's copies and undilated kernel).
NHWC_SLOW_DILATION = 7


def is_dilated_depthwise(module: torch.nn.Module) -> bool:
    """Whether ``module`` is a depthwise 2-D convolution (one group per input channel) with a
    dilation of at least :data:`NHWC_SLOW_DILATION`."""
    return (isinstance(module, torch.nn.Conv2d) and module.groups > 1
            and module.groups == module.in_channels
            and max(module.dilation) >= NHWC_SLOW_DILATION)


def to_memory_format(model: torch.nn.Module, memory_format: str = 'channels_last',
                     space_to_batch: Optional[bool] = None) -> list[str]:
    """Convert ``model``'s parameters and, through a forward pre-hook, its 4-D ``inputs``.

    Args:
        model: The (unwrapped) model; called as ``model(inputs, ...)`` or
            ``model(inputs=..., ...)``.
        memory_format: 'channels_last' or 'contiguous'.
        space_to_batch: With 'channels_last', run the dilated depthwise convolutions as
            undilated ones on interleaved sub-images (see the module docstring). Default: on
            when the model's parameters are on the CPU.

    Returns:
        The names of the convolutions run as space-to-batch.
    """
    if memory_format not in _FORMATS:
        raise ValueError(f'memory_format must be one of {sorted(_FORMATS)}, got {memory_format!r}')
    model.to(memory_format=_FORMATS[memory_format])
    model.register_forward_pre_hook(_inputs_to(_FORMATS[memory_format]), with_kwargs=True)
    if memory_format != 'channels_last':
        return []
    if space_to_batch is None:
        first = next(model.parameters(), None)
        space_to_batch = first is not None and first.device.type == 'cpu'
    if not space_to_batch:
        return []
    converted = []
    for name, module in model.named_modules():
        if (is_dilated_depthwise(module) and type(module) is torch.nn.Conv2d
                and runs_as_space_to_batch(module)):
            use_space_to_batch(module)
            converted.append(name)
    return converted


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
        converted = to_memory_format(model, self.memory_format)
        if converted:
            runner.logger.info(f'MemoryFormatHook: {self.memory_format}; {len(converted)} '
                               'dilated depthwise convolutions run as space-to-batch '
                               '(faster on CPUs)')
        self._converted = True

    def before_train(self, runner) -> None:
        self._convert(runner)

    def before_val(self, runner) -> None:
        self._convert(runner)

    def before_test(self, runner) -> None:
        self._convert(runner)
