"""Run depthwise convolutions in fp32 when the rest of the model autocasts to bf16 on a CPU.

oneDNN's bf16 depthwise convolutions in NHWC (the layout ``--amp`` uses on a CPU) are no faster
than its fp32 ones on a CPU with AVX512-BF16, forward (1.0-1.6x slower), and 5-13x slower
forward + backward at stride 2 (docs/benchmarks.md, "Depthwise convolutions under bf16
autocast"). A depthwise convolution does one multiply-add per weight and pixel and gains
nothing from bf16's dot-product instructions; the pointwise and dense convolutions around it
do. So each depthwise convolution (one group per input channel) leaves autocast for its own
forward pass: a forward pre-hook turns CPU autocast off and casts the input to fp32, a forward
hook turns it back on. The output is fp32; the next autocast operation casts it again. The
exceptions are the widely dilated ones that :mod:`~segdet.engine.hooks.memory_format_hook`
keeps NCHW, where bf16 is as fast as fp32 or faster. Outside CPU bf16 autocast the hooks do
nothing.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper

from segdet.registry import HOOKS
from .memory_format_hook import is_dilated_depthwise


def is_depthwise(module: torch.nn.Module) -> bool:
    """Whether ``module`` is a 2-D convolution with one group per input channel (and more
    than one channel)."""
    return (isinstance(module, torch.nn.Conv2d) and module.groups > 1
            and module.groups == module.in_channels)


def runs_fp32_under_autocast(module: torch.nn.Module) -> bool:
    """Whether :func:`keep_depthwise_fp32` takes ``module`` out of bf16 autocast: a depthwise
    convolution that is not one of the dilated NCHW islands."""
    return is_depthwise(module) and not is_dilated_depthwise(module)


class _AutocastOff:
    """The pre-hook / hook pair of one convolution: autocast off and fp32 inputs inside it."""

    def __init__(self) -> None:
        self._resume: list[bool] = []

    def __deepcopy__(self, memo: dict) -> '_AutocastOff':
        return _AutocastOff()

    def before(self, module, args):
        active = (torch.is_autocast_enabled('cpu')
                  and torch.get_autocast_dtype('cpu') == torch.bfloat16
                  and any(torch.is_tensor(a) and a.device.type == 'cpu' for a in args))
        self._resume.append(active)
        if not active:
            return None
        torch.set_autocast_enabled('cpu', False)
        return tuple(a.float() if torch.is_tensor(a) and a.is_floating_point() else a
                     for a in args)

    def after(self, module, args, output):
        if self._resume and self._resume.pop():
            torch.set_autocast_enabled('cpu', True)


def keep_depthwise_fp32(model: torch.nn.Module) -> list[str]:
    """Make the depthwise convolutions of ``model`` (:func:`runs_fp32_under_autocast`) run in
    fp32 under CPU bf16 autocast.

    Args:
        model: The (unwrapped) model.

    Returns:
        The names of the convolutions concerned.
    """
    names = []
    for name, module in model.named_modules():
        if runs_fp32_under_autocast(module) and \
                not getattr(module, '_segdet_fp32_island', False):
            hooks = _AutocastOff()
            module.register_forward_pre_hook(hooks.before)
            # always_call: autocast comes back on even when the convolution raises
            module.register_forward_hook(hooks.after, always_call=True)
            module._segdet_fp32_island = True
            names.append(name)
    return names


@HOOKS.register_module()
class Fp32DepthwiseHook(Hook):
    """Apply :func:`keep_depthwise_fp32` to the runner's model before it first runs.

    ``configure_runtime`` adds it where ``--amp`` autocasts to bf16 on a CPU, unless the
    config sets ``fp32_depthwise = False``.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._done = False

    def _apply(self, runner) -> None:
        if self._done:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if isinstance(model, BaseTTAModel):
            model = model.module
        names = keep_depthwise_fp32(model)
        if names:
            runner.logger.info(f'Fp32DepthwiseHook: {len(names)} depthwise convolutions run '
                               'in fp32 under bf16 autocast (faster on CPUs)')
        self._done = True

    def before_train(self, runner) -> None:
        self._apply(runner)

    def before_val(self, runner) -> None:
        self._apply(runner)

    def before_test(self, runner) -> None:
        self._apply(runner)
