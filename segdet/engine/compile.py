"""``--compile``: ``torch.compile`` the network part of a model.

Training compiles ``train_step`` through mmengine's ``cfg.compile`` (the Runner does it).
Inference compiles the tensor-only part of ``test_step``, where the time goes and the shapes
are steady: ``encode_decode`` of segmentors (backbone, neck and decode head, whole and slide
modes alike) or ``extract_feat`` of detectors (backbone and neck; the RPN and RoI heads, whose
shapes change with the number of boxes, stay eager). Pre- and post-processing stay eager too:
they handle Python structures (data samples, metainfo) that would break the graph.

On a CPU, inference compiles with inductor's ``freezing``: the weights become constants, so
inductor folds them into oneDNN's blocked layout once and fuses the convolutions with the
element-wise operations after them (ReLU, residual additions), which is where compiling pays on
a CPU (docs/benchmarks.md, "torch.compile on a CPU"). The weights must not change after the
first compiled call (tools/test.py loads the checkpoint before it).
"""
from typing import Optional, Union

import torch

#: The methods compiled for inference, the first one the model has.
INFERENCE_METHODS = ('encode_decode', 'extract_feat')


def compile_options(compile_cfg: Union[bool, dict, None]) -> Optional[dict]:
    """``cfg.compile`` as ``torch.compile`` keyword arguments; None when it is off.

    Raises:
        TypeError: ``compile_cfg`` is neither a bool, None nor a dict.
    """
    if compile_cfg is None or compile_cfg is False:
        return None
    if compile_cfg is True:
        return {}
    if isinstance(compile_cfg, dict):
        return dict(compile_cfg)
    raise TypeError(f'compile must be a bool or a dict of torch.compile arguments, got '
                    f'{compile_cfg!r}')


def inference_options(model: torch.nn.Module, options: Optional[dict] = None) -> dict:
    """``options`` plus inductor's ``freezing`` where it applies: a model on the CPU, the
    inductor backend, no ``mode`` (torch.compile takes a mode or inductor options, not both)
    and no ``freezing`` chosen in ``options['options']``."""
    options = dict(options or {})
    first = next(model.parameters(), None)
    on_cpu = first is None or first.device.type == 'cpu'
    if on_cpu and options.get('backend', 'inductor') == 'inductor' and 'mode' not in options:
        inductor = dict(options.get('options') or {})
        inductor.setdefault('freezing', True)
        options['options'] = inductor
    return options


def compile_for_inference(model: torch.nn.Module, options: Optional[dict] = None) -> str:
    """Replace the model's network method (:data:`INFERENCE_METHODS`) by its compiled version.

    Args:
        model: The unwrapped model.
        options: ``torch.compile`` keyword arguments (``backend``, ``mode``, ``dynamic``, ...);
            :func:`inference_options` adds ``freezing`` on CPUs.

    Returns:
        The name of the compiled method.

    Raises:
        ValueError: The model has none of those methods.
    """
    for name in INFERENCE_METHODS:
        method = getattr(model, name, None)
        if callable(method):
            setattr(model, name, torch.compile(method, **inference_options(model, options)))
            return name
    raise ValueError(f'--compile: {type(model).__name__} has none of the methods '
                     f'{INFERENCE_METHODS} that segdet compiles for inference')
