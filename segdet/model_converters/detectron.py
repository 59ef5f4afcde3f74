"""Detectron (Caffe2) ``.pkl`` -> segdet: the GN Mask R-CNN models (``e2e_mask_rcnn_R-50-FPN_2x_gn``
and the others of Detectron's GN page), the BN* models, and the ImageNet backbones
(``R-50-GN.pkl``, ``R-101-GN.pkl``, ``R-50.pkl``, ...).

A Detectron weights file is a pickle of ``dict(blobs={name: numpy array}, cfg=yaml text)`` (or
of the blobs alone, in old files), written by Python 2; :func:`load_detectron_pkl` reads it
without running any code. Blob names (``detectron/modeling``: ``ResNet.py``, ``FPN.py``,
``fast_rcnn_heads.py``, ``mask_rcnn_heads.py``; a ``ConvGN`` named ``p`` has ``p_w``,
``p_gn_s``, ``p_gn_b`` and no conv bias, an ``AffineChannel`` named ``p`` has ``p_s``, ``p_b``):

- ``backbone.conv1`` / ``bn1`` / ``gn1`` <- ``conv1_w`` / ``res_conv1_bn_{s,b}`` /
  ``conv1_gn_{s,b}``;
- ``backbone.layer{s}.{b}.conv{1,2,3}`` / ``{bn,gn}{1,2,3}`` <- ``res{s+1}_{b}_branch2{a,b,c}_w``
  / ``..._{bn,gn}_{s,b}``; ``downsample.{0,1}`` <- ``res{s+1}_{b}_branch1_w`` / ``..._{bn,gn}_*``;
- ``neck.lateral_convs.3`` (top) <- ``fpn_inner_res5_{n}_sum_*``; ``neck.lateral_convs.i``
  (i < 3) <- ``fpn_inner_res{i+2}_{n}_sum_lateral_*``; ``neck.fpn_convs.i`` <-
  ``fpn_res{i+2}_{n}_sum_*`` (n: the stage's last block);
- ``rpn_head.rpn_conv`` / ``rpn_cls`` / ``rpn_reg`` <- ``conv_rpn_fpn2`` / ``rpn_cls_logits_fpn2``
  / ``rpn_bbox_pred_fpn2``;
- ``roi_head.bbox_head.shared_convs.i`` <- ``head_conv{i+1}_*`` (the 4conv1fc GN head);
  ``shared_fcs.0`` / ``1`` <- ``fc6`` / ``fc7``; ``fc_cls`` / ``fc_reg`` <- ``cls_score`` /
  ``bbox_pred``;
- ``roi_head.mask_head.convs.i`` <- ``_mask_fcn{i+1}_*`` (GN) or ``_[mask]_fcn{i+1}_*``;
  ``upsample`` / ``conv_logits`` <- ``conv5_mask`` / ``mask_fcn_logits``.

Detectron's RPN shares one set of weights over the FPN levels, saved under level 2's names;
the C4 models' are ``conv_rpn``, ``rpn_cls_logits``, ``rpn_bbox_pred`` and their shared head is
``res5_*``. Left out on purpose: SGD momenta (``*_momentum``) and the ImageNet classifier of a
backbone file (``pred_*``, ``fc1000_*``). BN* (``AffineChannel``) becomes a BN with mean 0 and
variance ``1 - eps`` (exact); GN scales and shifts are copied. Classes: background first.
"""
import pickle
import re
from typing import Any, Mapping

import numpy as np
import torch
from torch import Tensor

from .classes import classifier_rows, mask_channels, regression_blocks, target_num_classes
from .core import ConversionError, PathLike, Plan, Source, TargetShapes
from .resnet_keys import ResNetKey, affine_channel_bn, is_batch_norm, parse_resnet_key

NAME = 'detectron'
EXPECTED = ("a Detectron (Caffe2) weights pickle: dict(blobs={name: array}) with ResNet blobs "
            "('conv1_w', 'res2_0_branch2a_w', ...) and, for a detector, 'fpn_*', "
            "'conv_rpn_fpn2_*', 'cls_score_*', ...")

_DROPPED = {'pred_w', 'pred_b', 'fc1000_w', 'fc1000_b', 'lr', 'weight_order', 'model_iter'}
_FPN = re.compile(r'neck\.(lateral|fpn)_convs\.(\d+)\.(conv|gn)\.(weight|bias)')
_HEAD_CONV = re.compile(r'roi_head\.bbox_head\.shared_convs\.(\d+)\.(conv|gn)\.(weight|bias)')
_MASK_CONV = re.compile(r'roi_head\.mask_head\.convs\.(\d+)\.(conv|gn)\.(weight|bias)')
_RPN = {'rpn_conv': ('conv_rpn_fpn2', 'conv_rpn'),
        'rpn_cls': ('rpn_cls_logits_fpn2', 'rpn_cls_logits'),
        'rpn_reg': ('rpn_bbox_pred_fpn2', 'rpn_bbox_pred')}
_SUFFIX = {'weight': {'conv': 'w', 'gn': 's'}, 'bias': {'conv': 'b', 'gn': 'b'}}


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays; nothing that runs code."""

    _ALLOWED = {('numpy.core.multiarray', '_reconstruct'),
                ('numpy._core.multiarray', '_reconstruct'),
                ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar'),
                ('numpy', 'ndarray'), ('numpy', 'dtype'), ('collections', 'OrderedDict'),
                ('_codecs', 'encode')}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f'{module}.{name}')
        if module.startswith('numpy.core') and hasattr(np, '_core'):
            module = 'numpy._core' + module[len('numpy.core'):]  # numpy 2 moved it
        return super().find_class(module, name)


def load_detectron_pkl(path: PathLike) -> 'dict[str, Tensor]':
    """The blobs of a Detectron weights file as tensors.

    Raises:
        ConversionError: the pickle references something other than numpy arrays (it is not
            a Detectron weights file, or it would run code), or holds no ``blobs``.
    """
    with open(path, 'rb') as f:
        try:
            data = _ArraysOnly(f, encoding='latin1').load()
        except pickle.UnpicklingError as err:
            raise ConversionError(f'{path}: refusing to unpickle {err}: a Detectron weights '
                                  'file holds only numpy arrays, names and its config text'
                                  ) from None
    blobs = data.get('blobs', data) if isinstance(data, Mapping) else None
    if not isinstance(blobs, Mapping) or not blobs:
        raise ConversionError(f'{path}: expected {EXPECTED}, got {type(data).__name__}')
    bad = [k for k, v in blobs.items() if not isinstance(v, np.ndarray)]
    if bad:
        raise ConversionError(f'{path}: {len(bad)} blobs are not arrays (first: {bad[:5]})')
    return {str(k): torch.from_numpy(np.ascontiguousarray(v)) for k, v in blobs.items()}


def is_backbone_file(blobs: Mapping[str, Tensor]) -> bool:
    """An ImageNet backbone (no detection head: converted into ``model.backbone`` alone)."""
    return 'cls_score_w' not in blobs and 'conv1_w' in blobs


def resnet_conv_blob(key: ResNetKey) -> str:
    """Detectron's name of the conv of one ResNet tensor (``conv1``, ``res3_1_branch2b``,
    ``res4_0_branch1``); its norm is that name + ``_bn`` / ``_gn`` (stem BN: ``res_conv1_bn``)."""
    if key.stage == 0:
        return 'conv1'
    branch = 'branch1' if key.index == 0 else f'branch2{"abc"[key.index - 1]}'
    return f'res{key.stage + 1}_{key.block}_{branch}'


def _last_blocks(targets: TargetShapes) -> dict[int, int]:
    """Last block index of each backbone stage (FPN blob names use it: ``res4_5_sum``)."""
    last: dict[int, int] = {}
    for key in targets:
        match = re.match(r'backbone\.layer(\d)\.(\d+)\.', key)
        if match:
            stage, block = int(match.group(1)), int(match.group(2))
            last[stage] = max(last.get(stage, 0), block)
    return last


def _conv_or_gn(prefix: str, layer: str, param: str) -> list[Source]:
    """``p_w`` / ``p_b`` for a conv, ``p_gn_s`` / ``p_gn_b`` for its GN."""
    if param not in _SUFFIX:
        return []
    if layer == 'conv':
        return [Source((f'{prefix}_{_SUFFIX[param]["conv"]}',))]
    return [Source((f'{prefix}_gn_{_SUFFIX[param]["gn"]}',))]


def _resnet_sources(targets: TargetShapes, key: str, rel: str) -> list[Source]:
    """Sources of one ResNet tensor: conv weights, AffineChannel (BN*) or GN scales."""
    parsed = parse_resnet_key(rel)
    if parsed is None:
        return []
    conv = resnet_conv_blob(parsed)
    if parsed.kind == 'conv':
        return [Source((f'{conv}_w',))]
    if is_batch_norm(targets, key):
        blob = 'res_conv1_bn' if conv == 'conv1' else f'{conv}_bn'
        return affine_channel_bn(parsed.param, f'{blob}_s', f'{blob}_b')
    return _conv_or_gn(conv, 'gn', parsed.param)


def make_plan(targets: TargetShapes) -> Plan:
    """The sources of the targets of one segdet model or backbone (see the module docstring).

    Backbone-only targets (an ImageNet file) have no ``backbone.`` prefix.
    """
    last = _last_blocks(targets)
    backbone_only = not any(k.startswith('backbone.') for k in targets)

    def plan(key: str, shape: torch.Size) -> list[Source]:
        prefix = '' if backbone_only else next(
            (p for p in ('backbone.', 'roi_head.shared_head.') if key.startswith(p)), None)
        if prefix is not None:
            return _resnet_sources(targets, key, key[len(prefix):])
        match = _FPN.fullmatch(key)
        if match:
            kind, i, layer, param = match.groups()
            stage = int(i) + 1
            sum_blob = f'res{stage + 1}_{last.get(stage, 0)}_sum'
            if kind == 'fpn':
                prefix = f'fpn_{sum_blob}'
            else:
                top = stage == max(last) if last else False
                prefix = f'fpn_inner_{sum_blob}' + ('' if top else '_lateral')
            return _conv_or_gn(prefix, layer, param)
        module, _, param = key.rpartition('.')
        head, _, name = module.partition('.')
        if head == 'rpn_head' and name in _RPN:
            return [Source((f'{blob}_{_SUFFIX[param]["conv"]}',)) for blob in _RPN[name]]
        match = _HEAD_CONV.fullmatch(key)
        if match:
            i, layer, param = match.groups()
            return _conv_or_gn(f'head_conv{int(i) + 1}', layer, param)
        match = _MASK_CONV.fullmatch(key)
        if match:
            i, layer, param = match.groups()
            n = int(i) + 1
            if layer == 'gn':
                return _conv_or_gn(f'_mask_fcn{n}', 'gn', param)
            return (_conv_or_gn(f'_mask_fcn{n}', 'conv', param)
                    + _conv_or_gn(f'_[mask]_fcn{n}', 'conv', param))
        suffix = _SUFFIX.get(param, {}).get('conv')
        fcs = {'roi_head.bbox_head.shared_fcs.0': 'fc6', 'roi_head.bbox_head.shared_fcs.1': 'fc7',
               'roi_head.mask_head.upsample': 'conv5_mask'}
        if module in fcs and suffix:
            return [Source((f'{fcs[module]}_{suffix}',))]
        classes = target_num_classes(key, shape)
        if module == 'roi_head.bbox_head.fc_cls' and suffix:
            return [Source((f'cls_score_{suffix}',), lambda w: classifier_rows(w, classes),
                           note='classes: background first -> last')]
        if module == 'roi_head.bbox_head.fc_reg' and suffix:
            return [Source((f'bbox_pred_{suffix}',), lambda w: regression_blocks(w, classes),
                           note='class blocks: background block dropped')]
        if module == 'roi_head.mask_head.conv_logits' and suffix:
            return [Source((f'mask_fcn_logits_{suffix}',), lambda w: mask_channels(w, classes),
                           note='mask channels: background dropped')]
        return []

    return plan


def dropped(key: str) -> bool:
    """SGD momenta, the ImageNet classifier of a backbone file, solver state."""
    return key.endswith('_momentum') or key in _DROPPED
