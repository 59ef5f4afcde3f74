"""Parse the ResNet part of a segdet key, and the frozen-BN conventions of the sources.

segdet (mmdetection) names a ResNet's tensors ``conv1.weight``, ``bn1.*`` (``gn1.*`` with
GroupNorm) for the stem and ``layer{s}.{b}.conv{k}.weight``, ``layer{s}.{b}.bn{k}.*``,
``layer{s}.{b}.downsample.0.weight`` / ``downsample.1.*`` for block ``b`` of stage ``s``
(``layer1`` is Detectron's ``res2``); the C4 shared head's stage is ``layer4`` too.
"""
import dataclasses
import re
from typing import Mapping, Optional

import torch
from torch import Tensor

from .core import Source, constant

#: eps of segdet's BN layers in every config converted to (PyTorch's default).
BN_EPS = 1e-5

_STEM = re.compile(r'(conv1)\.(weight)|(bn1|gn1)\.(\w+)')
_BLOCK = re.compile(r'layer(\d)\.(\d+)\.(?:(conv|bn|gn)(\d)|downsample\.([01]))\.(\w+)')


@dataclasses.dataclass(frozen=True)
class ResNetKey:
    """One tensor of a ResNet.

    Attributes:
        stage: 0 for the stem, 1..4 for ``layer1``..``layer4``.
        block: Block index in the stage (0 for the stem).
        kind: ``'conv'`` or ``'norm'``.
        index: 1..3 for a block's conv/norm (1 for the stem), 0 for the downsample branch.
        param: ``weight``, ``bias``, ``running_mean``, ``running_var``, ``num_batches_tracked``.
    """

    stage: int
    block: int
    kind: str
    index: int
    param: str


def parse_resnet_key(rel: str) -> Optional[ResNetKey]:
    """``rel`` relative to the ResNet (``layer2.3.bn1.weight``), or None if not a ResNet key."""
    match = _STEM.fullmatch(rel)
    if match:
        if match.group(1):
            return ResNetKey(0, 0, 'conv', 1, 'weight')
        return ResNetKey(0, 0, 'norm', 1, match.group(4))
    match = _BLOCK.fullmatch(rel)
    if not match:
        return None
    stage, block, layer, index, down, param = match.groups()
    if down is not None:
        return ResNetKey(int(stage), int(block), 'conv' if down == '0' else 'norm', 0, param)
    return ResNetKey(int(stage), int(block), 'conv' if layer == 'conv' else 'norm', int(index),
                     param)


def is_batch_norm(targets: Mapping[str, object], key: str) -> bool:
    """Whether the norm layer that target ``key`` belongs to is a BN (it has running
    statistics) rather than a GN."""
    return f'{key.rpartition(".")[0]}.running_var' in targets


def fold_frozen_bn(weight: Tensor, running_var: Tensor, eps: float = BN_EPS) -> Tensor:
    """The BN weight that makes ``BatchNorm(eps)`` in eval mode compute what a frozen BN
    without eps computes (maskrcnn-benchmark's ``FrozenBatchNorm2d``:
    ``x * weight / sqrt(running_var) + ...``): ``weight * sqrt(var + eps) / sqrt(var)``."""
    var = running_var.double()
    return (weight.double() * torch.sqrt(var + eps) / torch.sqrt(var)).to(weight.dtype)


def affine_channel_bn(param: str, scale: str, bias: str, eps: float = BN_EPS) -> list[Source]:
    """A BN target filled from a Caffe2 ``AffineChannel`` (``y = x * scale + bias``, what
    Detectron runs in place of frozen BN): weight = scale, bias = bias, mean 0 and variance
    ``1 - eps``, so that ``(x - 0) / sqrt(1 - eps + eps) * scale + bias`` is exact."""
    if param == 'weight':
        return [Source((scale,))]
    if param == 'bias':
        return [Source((bias,))]
    if param == 'running_mean':
        return [constant(0.0, note='AffineChannel: mean 0')]
    if param == 'running_var':
        return [constant(1.0 - eps, note='AffineChannel: variance 1 - eps')]
    if param == 'num_batches_tracked':
        return [constant(0, torch.long)]
    return []


def frozen_bn(param: str, prefix: str) -> list[Source]:
    """A BN target filled from a frozen BN without eps saved with ``weight``, ``bias``,
    ``running_mean`` and ``running_var`` under ``prefix`` (the weight folded with eps)."""
    if param == 'weight':
        return [Source((f'{prefix}.weight', f'{prefix}.running_var'), fold_frozen_bn,
                       note='frozen BN without eps, folded into the weight')]
    if param in ('bias', 'running_mean', 'running_var'):
        return [Source((f'{prefix}.{param}',))]
    if param == 'num_batches_tracked':
        return [Source((f'{prefix}.{param}',)), constant(0, torch.long)]
    return []
