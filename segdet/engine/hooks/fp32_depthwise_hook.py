"""Run depthwise convolutions in fp32 in training steps that autocast to bf16 on a CPU.

oneDNN's bf16 depthwise convolutions in NHWC (the layout ``--amp`` uses on a CPU) are slower
than its fp32 ones forward + backward on a CPU with AVX512-BF16: 1.6-4.2x at stride 2 and
1.4x at dilation 2, counting the casts to and from fp32 (docs/benchmarks.md, "Depthwise
convolutions under bf16 autocast"). A depthwise convolution does one multiply-add per weight
and pixel and gains little from bf16's dot-product instructions; the pointwise and dense
convolutions around it gain. So in a forward pass that records gradients each depthwise
convolution (one group per input channel) leaves autocast: a forward pre-hook turns CPU
autocast off and casts the input to fp32, a forward hook turns it back on; the output is fp32
and the next autocast operation casts it again. Forward alone (inference, validation) bf16 is
faster once the casts are counted, so without gradients nothing changes. The exceptions are
the widely dilated convolutions, which :mod:`~segdet.engine.hooks.memory_format_hook` runs as
undilated ones on sub-images (stride 1, where bf16 and fp32 take about as long forward +
backward) and whose large maps would make the casts costly. Outside CPU bf16 autocast the
hooks do nothing.
"""
import threading

import torch
from mmengine.hooks import Hook

from segdet.engine.checkpoint_fit import unwrap_model
from segdet.registry import HOOKS
from segdet.utils.autocast_state import autocast_state
from .memory_format_hook import is_dilated_depthwise


def is_depthwise(module: torch.nn.Module) -> bool:
    """Whether ``module`` is a 2-D convolution with one group per input channel (and more
    than one channel)."""
    return (isinstance(module, torch.nn.Conv2d) and module.groups > 1
            and module.groups == module.in_channels)


def runs_fp32_under_autocast(module: torch.nn.Module) -> bool:
    """Whether :func:`keep_depthwise_fp32` takes ``module`` out of bf16 autocast: a depthwise
    convolution with a dilation below
    :data:`~segdet.engine.hooks.memory_format_hook.NHWC_SLOW_DILATION`."""
    return is_depthwise(module) and not is_dilated_depthwise(module)


def _set_cpu_autocast(enabled: bool) -> None:
    try:
        torch.set_autocast_enabled('cpu', enabled)
    except TypeError:
        torch.set_autocast_cpu_enabled(enabled)


class _AutocastOff:
    """The pre-hook / hook pair of one convolution: autocast off and fp32 inputs inside it.

    Autocast state is per thread, so is the record of whether to turn it back on."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __deepcopy__(self, memo: dict) -> '_AutocastOff':
        return _AutocastOff()

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self._local = threading.local()

    def _stack(self) -> list:
        if not hasattr(self._local, 'resume'):
            self._local.resume = []
        return self._local.resume

    def before(self, module, args):
        enabled, dtype = autocast_state('cpu')
        # Training passes only: forward alone, bf16 is faster once the casts are counted.
        active = (enabled and dtype == torch.bfloat16 and torch.is_grad_enabled()
                  and any(torch.is_tensor(a) and a.device.type == 'cpu' for a in args))
        self._stack().append(active)
        if not active:
            return None
        _set_cpu_autocast(False)
        return tuple(a.float() if torch.is_tensor(a) and a.is_floating_point() else a
                     for a in args)

    def after(self, module, args, output):
        stack = self._stack()
        if stack and stack.pop():
            _set_cpu_autocast(True)


def keep_depthwise_fp32(model: torch.nn.Module) -> list[str]:
    """Make the depthwise convolutions of ``model`` (:func:`runs_fp32_under_autocast`) run in
    fp32 under CPU bf16 autocast when gradients are recorded.

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
        model = unwrap_model(runner.model)  # DDP and tools/test.py --tta wrap the model
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
