"""Put the model in ``channels_last`` memory format for training and inference.

On CPUs, oneDNN's convolutions run NHWC natively (with bf16 on AMX in particular, the
reference ``--amp`` path); NCHW tensors are reordered at every convolution. Converting the
weights once is enough: a convolution whose weight is channels_last returns a channels_last
output, so the whole network, and its gradients, stay NHWC. Inputs are converted as they
enter the model. Modules without 4-D parameters are unaffected.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper

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


def to_memory_format(model: torch.nn.Module, memory_format: str = 'channels_last') -> None:
    """Convert ``model``'s parameters and, through a forward pre-hook, its 4-D ``inputs``.

    Args:
        model: The (unwrapped) model; called as ``model(inputs, ...)`` or
            ``model(inputs=..., ...)``.
        memory_format: 'channels_last' or 'contiguous'.
    """
    if memory_format not in _FORMATS:
        raise ValueError(f'memory_format must be one of {sorted(_FORMATS)}, got {memory_format!r}')
    model.to(memory_format=_FORMATS[memory_format])
    model.register_forward_pre_hook(_inputs_to(_FORMATS[memory_format]), with_kwargs=True)


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
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if isinstance(model, BaseTTAModel):  # tools/test.py --tta: the wrapped model runs
            model = model.module
        to_memory_format(model, self.memory_format)
        self._converted = True

    def before_train(self, runner) -> None:
        self._convert(runner)

    def before_val(self, runner) -> None:
        self._convert(runner)

    def before_test(self, runner) -> None:
        self._convert(runner)
