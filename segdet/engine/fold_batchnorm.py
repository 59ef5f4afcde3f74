"""Fold eval-mode BatchNorm into the convolution that feeds it, found by tracing a forward pass.

An eval-mode BatchNorm is a per-channel affine map, ``y = (x - mean) / sqrt(var + eps) * w + b``,
so when its input is a convolution's output it can be folded into that convolution's weights
(``mmcv.cnn``'s ``_fuse_conv_bn``) and replaced by ``nn.Identity``: one pass over the feature map
less per layer, the same predictions up to float rounding.

Which conv feeds which BatchNorm is not read from the order the modules were registered in
(``mmcv.cnn.fuse_conv_bn``'s rule, wrong for e.g. DMNet's DCM, CGNet's context-guided block, or
any module that registers its convs before its norms): one forward pass on a probe input is
traced with hooks, and a BatchNorm is folded only if, every time it ran, its input was the very
output tensor of one plain ``Conv2d`` with as many channels, which fed no other BatchNorm and ran
as often. A use of that conv output outside any module (a residual ``bn(y) + y``) cannot be seen
by hooks, so the folded model is run on the probe again and compared with the unfused outputs;
if they differ, nothing is folded and a warning says so.

``SyncBatchNorm`` (kept only in distributed GPU runs) and GroupNorm are never folded. Training
needs the BatchNorm layers: fold only a model that is about to predict.
"""
import copy
import warnings
from collections import Counter, defaultdict
from typing import Any, Callable

import torch
from torch import Tensor, nn


def _is_plain_conv(module: nn.Module) -> bool:
    """``nn.Conv2d`` or mmcv's empty-input-safe ``Conv2d`` (not ``ConvWS``, DCN, ...)."""
    from mmcv.cnn.bricks.wrappers import Conv2d as MMCVConv2d
    return type(module) in (nn.Conv2d, MMCVConv2d)


def _is_foldable_norm(module: nn.Module) -> bool:
    return (isinstance(module, nn.modules.batchnorm._BatchNorm)
            and not isinstance(module, nn.SyncBatchNorm))


def trace_conv_bn_pairs(model: nn.Module, run: Callable[[], Any]) -> tuple[dict[str, str], Any]:
    """The (BatchNorm, conv) pairs of ``model`` that one call of ``run`` shows to be foldable.

    Args:
        model: The model ``run`` calls (its modules are hooked during the call).
        run: Runs one forward pass of ``model`` and returns its outputs.

    Returns:
        ``{bn_name: conv_name}`` (names as in ``model.named_modules()``), and what ``run``
        returned.
    """
    modules = dict(model.named_modules())
    conv_outputs: dict[int, tuple[str, Tensor]] = {}
    sources: dict[str, set] = defaultdict(set)
    calls: Counter = Counter()

    def conv_hook(name: str):
        def hook(module, args, output):
            calls[name] += 1
            conv_outputs[id(output)] = (name, output)  # the reference keeps the id unique
        return hook

    def norm_hook(name: str):
        def hook(module, args):
            calls[name] += 1
            entry = conv_outputs.get(id(args[0])) if args else None
            sources[name].add(entry[0] if entry is not None and entry[1] is args[0] else None)
        return hook

    handles = []
    for name, module in modules.items():
        if _is_plain_conv(module):
            handles.append(module.register_forward_hook(conv_hook(name)))
        elif _is_foldable_norm(module):
            handles.append(module.register_forward_pre_hook(norm_hook(name)))
    try:
        outputs = run()
    finally:
        for handle in handles:
            handle.remove()
        conv_outputs.clear()

    single = {bn: next(iter(s)) for bn, s in sources.items() if len(s) == 1 and None not in s}
    feeds = Counter(single.values())
    pairs = {bn: conv for bn, conv in single.items()
             if feeds[conv] == 1 and calls[conv] == calls[bn]
             and modules[conv].out_channels == modules[bn].num_features}
    return pairs, outputs


def _outputs_close(a: Any, b: Any, rtol: float) -> bool:
    """Whether two nested outputs (tensors in tuples / lists / dicts) are equal up to ``rtol``
    of each tensor's largest magnitude."""
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor) or a.shape != b.shape:
            return False
        if not a.is_floating_point():
            return bool(torch.equal(a, b))
        scale = max(1.0, float(a.abs().max())) if a.numel() else 1.0
        return bool(torch.allclose(a.float(), b.float(), rtol=rtol, atol=rtol * scale))
    if isinstance(a, (tuple, list)):
        return (isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(_outputs_close(x, y, rtol) for x, y in zip(a, b)))
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(_outputs_close(a[k], b[k], rtol) for k in a))
    return True


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition('.')
    parent = model.get_submodule(parent_name) if parent_name else model
    parent._modules[child] = module


def fold_traced_batchnorm(model: nn.Module, run: Callable[[], Any], rtol: float = 1e-3) -> int:
    """Put ``model`` in eval mode and fold every BatchNorm that the traced ``run`` shows to be
    fed by a conv (module docstring) into that conv, in place.

    Args:
        model: The model; its BatchNorm layers become ``nn.Identity``, its convs get a bias.
        run: One forward pass of ``model`` on a probe input (no grad needed), returning its
            outputs: tensors, possibly in tuples, lists or dicts.
        rtol: Largest difference between the unfused and folded outputs on the probe, relative
            to each output's largest magnitude; beyond it nothing is folded.

    Returns:
        The number of BatchNorm layers folded (0 when none qualifies or the check failed).
    """
    from mmcv.cnn.utils.fuse_conv_bn import _fuse_conv_bn

    model.eval()
    with torch.no_grad():
        pairs, reference = trace_conv_bn_pairs(model, run)
        if not pairs:
            return 0
        modules = dict(model.named_modules())
        originals = {name: modules[name] for pair in pairs.items() for name in pair}
        for bn, conv in pairs.items():
            _set_module(model, conv, _fuse_conv_bn(copy.deepcopy(modules[conv]), modules[bn]))
            _set_module(model, bn, nn.Identity())
        if _outputs_close(reference, run(), rtol):
            return len(pairs)
        for name, module in originals.items():
            _set_module(model, name, module)
    warnings.warn(f'fold BatchNorm: the folded {type(model).__name__} did not reproduce the '
                  f'unfused outputs on the probe input (a conv output is also used outside its '
                  'BatchNorm?); kept all BatchNorm layers')
    return 0


def probe_forward(model: nn.Module, shape: tuple[int, int] = (128, 128)) -> Callable[[], Any]:
    """A ``run`` for :func:`fold_traced_batchnorm`: the model's tensor-mode forward on one
    random (3, H, W) image through its data preprocessor (segmentors and detectors)."""
    from segdet.engine.benchmark.inputs import random_det_batch, random_seg_batch
    from segdet.models.detectors import BaseDetector

    make = random_det_batch if isinstance(model, BaseDetector) else random_seg_batch
    batch = make(1, shape, 1)

    def run():
        data = model.data_preprocessor(copy.deepcopy(batch), False)
        return model(**data, mode='tensor')
    return run
