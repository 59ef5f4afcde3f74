"""torchvision's detection models (``fasterrcnn_resnet50_fpn``, ``maskrcnn_resnet50_fpn``)
-> segdet Faster / Mask R-CNN (R-50-FPN).

Key names are those of ``torchvision.models.detection`` (both the current layout, e.g.
``backbone.fpn.inner_blocks.0.0.weight`` and ``roi_heads.mask_head.0.0.weight``, and the
layout of the published 2019 checkpoints, ``backbone.fpn.inner_blocks.0.weight`` and
``roi_heads.mask_head.mask_fcn1.weight``, which torchvision itself still loads):

- ``backbone.<resnet key>`` <- ``backbone.body.<resnet key>`` (the same ResNet names);
- ``neck.lateral_convs.i.conv`` / ``neck.fpn_convs.i.conv`` <- ``backbone.fpn.inner_blocks.i[.0]``
  / ``layer_blocks.i[.0]``;
- ``rpn_head.rpn_conv`` / ``rpn_cls`` / ``rpn_reg`` <- ``rpn.head.conv[.0.0]`` / ``cls_logits`` /
  ``bbox_pred``;
- ``roi_head.bbox_head.shared_fcs.0`` / ``1`` <- ``roi_heads.box_head.fc6`` / ``fc7``;
  ``fc_cls`` / ``fc_reg`` <- ``roi_heads.box_predictor.cls_score`` / ``bbox_pred``;
- ``roi_head.mask_head.convs.i.conv`` <- ``roi_heads.mask_head.i.0`` (``mask_fcn{i+1}``);
  ``upsample`` / ``conv_logits`` <- ``roi_heads.mask_predictor.conv5_mask`` / ``mask_fcn_logits``.

Class-specific rows are re-ordered: torchvision's COCO heads have 91 rows indexed by COCO
category id with the background at 0; segdet has the 80 classes in order and the background
last (``classes.COCO_CATEGORY_IDS``). A model trained on C classes with
``num_classes=C + 1`` has the background first and the classes in order. The FrozenBN layers
of the published checkpoints (eps 1e-5, no ``num_batches_tracked``) are BN in eval mode with
the same eps, so their tensors are copied as they are.
"""
import re

import torch

from .classes import classifier_rows, mask_channels, regression_blocks, target_num_classes
from .core import Plan, Source, TargetShapes, constant, named

NAME = 'torchvision'
EXPECTED = ("a torchvision fasterrcnn_resnet50_fpn / maskrcnn_resnet50_fpn state dict "
            "(keys 'backbone.body.*', 'backbone.fpn.*', 'rpn.head.*', 'roi_heads.*')")

_FPN = re.compile(r'neck\.(lateral|fpn)_convs\.(\d+)\.conv\.(weight|bias)')
_RPN = {'rpn_conv': ('rpn.head.conv.0.0', 'rpn.head.conv'), 'rpn_cls': ('rpn.head.cls_logits',),
        'rpn_reg': ('rpn.head.bbox_pred',)}
_MASK_CONV = re.compile(r'roi_head\.mask_head\.convs\.(\d+)\.conv\.(weight|bias)')


def plan(key: str, shape: torch.Size) -> list[Source]:
    """Candidate torchvision sources of one segdet target key (see the module docstring)."""
    # The backbone's ResNet keys are torchvision's own (mmdetection took its names from it).
    if key.startswith('backbone.'):
        src = 'backbone.body.' + key[len('backbone.'):]
        if key.endswith('num_batches_tracked'):  # absent from FrozenBN checkpoints
            return [Source((src,)), constant(0, torch.long)]
        return [Source((src,))]
    match = _FPN.fullmatch(key)
    if match:
        kind, i, param = match.groups()
        block = 'inner_blocks' if kind == 'lateral' else 'layer_blocks'
        return named([f'backbone.fpn.{block}.{i}.0', f'backbone.fpn.{block}.{i}'], param)
    module, _, param = key.rpartition('.')
    head, _, name = module.partition('.')
    if head == 'rpn_head' and name in _RPN:
        return named(_RPN[name], param)
    if module == 'roi_head.bbox_head.shared_fcs.0':
        return named(['roi_heads.box_head.fc6'], param)
    if module == 'roi_head.bbox_head.shared_fcs.1':
        return named(['roi_heads.box_head.fc7'], param)
    classes = target_num_classes(key, shape)
    if module == 'roi_head.bbox_head.fc_cls':
        return [Source((f'roi_heads.box_predictor.cls_score.{param}',),
                       lambda w: classifier_rows(w, classes, category_id_rows=True),
                       note='classes: category id / background first -> background last')]
    if module == 'roi_head.bbox_head.fc_reg':
        return [Source((f'roi_heads.box_predictor.bbox_pred.{param}',),
                       lambda w: regression_blocks(w, classes, category_id_rows=True),
                       note='class blocks: background block dropped')]
    match = _MASK_CONV.fullmatch(key)
    if match:
        i, param = int(match.group(1)), match.group(2)
        return named([f'roi_heads.mask_head.{i}.0', f'roi_heads.mask_head.mask_fcn{i + 1}'],
                     param)
    if module == 'roi_head.mask_head.upsample':
        return named(['roi_heads.mask_predictor.conv5_mask'], param)
    if module == 'roi_head.mask_head.conv_logits':
        return [Source((f'roi_heads.mask_predictor.mask_fcn_logits.{param}',),
                       lambda w: mask_channels(w, classes, category_id_rows=True),
                       note='mask channels: background dropped')]
    return []


def make_plan(targets: TargetShapes) -> Plan:
    """:func:`plan` (torchvision's names do not depend on the rest of the model)."""
    return plan


def dropped(key: str) -> bool:
    """torchvision's detection state dicts hold nothing but weights: nothing is dropped."""
    return False
