"""maskrcnn-benchmark ``.pth`` (Faster / Mask R-CNN, R-50-C4, R-50/101-FPN, X-101-32x8d-FPN)
-> segdet Faster / Mask R-CNN.

maskrcnn-benchmark's ``Checkpointer`` saves ``dict(model=state_dict, optimizer=...,
scheduler=..., iteration=...)``; the state dict may carry DistributedDataParallel's
``module.`` prefix. Key names (``maskrcnn_benchmark/modeling``):

- ``backbone.conv1`` / ``bn1`` <- ``backbone.body.stem.conv1`` / ``stem.bn1``;
- ``backbone.layer{s}.{b}.conv{k}`` / ``bn{k}`` / ``downsample.{0,1}`` <-
  ``backbone.body.layer{s}.{b}.conv{k}`` / ``bn{k}`` / ``downsample.{0,1}``;
- ``neck.lateral_convs.i.conv`` / ``neck.fpn_convs.i.conv`` <- ``backbone.fpn.fpn_inner{i+1}`` /
  ``fpn_layer{i+1}``;
- ``rpn_head.rpn_conv`` / ``rpn_cls`` / ``rpn_reg`` <- ``rpn.head.conv`` / ``cls_logits`` /
  ``bbox_pred``;
- ``roi_head.shared_head.layer4.*`` (C4) <- ``roi_heads.box.feature_extractor.head.layer4.*``;
- ``roi_head.bbox_head.shared_fcs.0`` / ``1`` (FPN) <- ``roi_heads.box.feature_extractor.fc6`` /
  ``fc7``; ``fc_cls`` / ``fc_reg`` <- ``roi_heads.box.predictor.cls_score`` / ``bbox_pred``;
- ``roi_head.mask_head.convs.i.conv`` (FPN) <- ``roi_heads.mask.feature_extractor.mask_fcn{i+1}``;
  ``upsample`` / ``conv_logits`` <- ``roi_heads.mask.predictor.conv5_mask`` / ``mask_fcn_logits``.

Left out on purpose: the anchor buffers ``rpn.anchor_generator.cell_anchors.*``. The C4 Mask
R-CNN shares the box head's ``head.layer4`` with the mask branch, so it is saved twice; the
``roi_heads.mask.feature_extractor.head.*`` copy must equal the box one and is skipped.
maskrcnn-benchmark's ``FrozenBatchNorm2d`` has no eps (``x * w / sqrt(var)``); its weight is
folded with segdet's BN eps so the converted BN computes the same. Classes: background first
(81 rows on COCO) -> background last.
"""
import re
from typing import Optional

import torch

from .classes import classifier_rows, mask_channels, regression_blocks, target_num_classes
from .core import Plan, Source, TargetShapes, named
from .resnet_keys import ResNetKey, frozen_bn, is_batch_norm, parse_resnet_key

NAME = 'maskrcnn-benchmark'
EXPECTED = ("a maskrcnn-benchmark GeneralizedRCNN state dict (keys 'backbone.body.*', "
            "'backbone.fpn.*' for FPN models, 'rpn.head.*', 'roi_heads.box.*', "
            "'roi_heads.mask.*' for Mask R-CNN)")

_RESNETS = (('backbone.', 'backbone.body.'),
            ('roi_head.shared_head.', 'roi_heads.box.feature_extractor.head.'))
_FPN = re.compile(r'neck\.(lateral|fpn)_convs\.(\d+)\.(conv|gn)\.(weight|bias)')
_MASK_CONV = re.compile(r'roi_head\.mask_head\.convs\.(\d+)\.conv\.(weight|bias)')
_RPN = {'rpn_conv': 'rpn.head.conv', 'rpn_cls': 'rpn.head.cls_logits',
        'rpn_reg': 'rpn.head.bbox_pred'}
_FCS = {'roi_head.bbox_head.shared_fcs.0': 'roi_heads.box.feature_extractor.fc6',
        'roi_head.bbox_head.shared_fcs.1': 'roi_heads.box.feature_extractor.fc7',
        'roi_head.mask_head.upsample': 'roi_heads.mask.predictor.conv5_mask'}
_SHARED_MASK_HEAD = 'roi_heads.mask.feature_extractor.head.'


def resnet_module(key: ResNetKey, prefix: str) -> str:
    """maskrcnn-benchmark's module of one ResNet tensor (without the parameter name)."""
    if key.stage == 0:
        return f'{prefix}stem.{"conv1" if key.kind == "conv" else "bn1"}'
    block = f'{prefix}layer{key.stage}.{key.block}'
    if key.index == 0:
        return f'{block}.downsample.{0 if key.kind == "conv" else 1}'
    return f'{block}.{"conv" if key.kind == "conv" else "bn"}{key.index}'


def make_plan(targets: TargetShapes) -> Plan:
    """The sources of the targets of one segdet model (see the module docstring)."""

    def plan(key: str, shape: torch.Size) -> list[Source]:
        for prefix, src_prefix in _RESNETS:
            if key.startswith(prefix):
                parsed = parse_resnet_key(key[len(prefix):])
                if parsed is None:
                    return []
                module = resnet_module(parsed, src_prefix)
                if parsed.kind == 'conv':
                    return named([module], parsed.param)
                if is_batch_norm(targets, key):
                    return frozen_bn(parsed.param, module)
                return named([module], parsed.param)  # GN models: bn{k} holds the GN
        match = _FPN.fullmatch(key)
        if match:
            kind, i, layer, param = match.groups()
            module = f'backbone.fpn.fpn_{"inner" if kind == "lateral" else "layer"}{int(i) + 1}'
            # without GN the conv is the module; with GN it is a Sequential(conv, GN)
            return named([module, f'{module}.0'] if layer == 'conv' else [f'{module}.1'], param)
        module, _, param = key.rpartition('.')
        head, _, name = module.partition('.')
        if head == 'rpn_head' and name in _RPN:
            return named([_RPN[name]], param)
        if module in _FCS:
            return named([_FCS[module]], param)
        classes = target_num_classes(key, shape)
        if module == 'roi_head.bbox_head.fc_cls':
            return [Source((f'roi_heads.box.predictor.cls_score.{param}',),
                           lambda w: classifier_rows(w, classes),
                           note='classes: background first -> last')]
        if module == 'roi_head.bbox_head.fc_reg':
            return [Source((f'roi_heads.box.predictor.bbox_pred.{param}',),
                           lambda w: regression_blocks(w, classes),
                           note='class blocks: background block dropped')]
        if module == 'roi_head.mask_head.conv_logits':
            return [Source((f'roi_heads.mask.predictor.mask_fcn_logits.{param}',),
                           lambda w: mask_channels(w, classes),
                           note='mask channels: background dropped')]
        match = _MASK_CONV.fullmatch(key)
        if match:
            return named([f'roi_heads.mask.feature_extractor.mask_fcn{int(match.group(1)) + 1}'],
                         match.group(2))
        return []

    return plan


def dropped(key: str) -> bool:
    """The anchor buffers (regenerated from the config), not weights."""
    return key.startswith('rpn.anchor_generator.cell_anchors.')


def duplicate_of(key: str) -> Optional[str]:
    """The C4 mask branch's copy of the box head's shared ``head`` (one module, two names)."""
    if key.startswith(_SHARED_MASK_HEAD):
        return 'roi_heads.box.feature_extractor.head.' + key[len(_SHARED_MASK_HEAD):]
    return None
