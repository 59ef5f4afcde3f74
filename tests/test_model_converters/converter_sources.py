"""State dicts of maskrcnn-benchmark and Detectron models, with the key names and shapes those
libraries use (read from their source), for the converter tests.

Written from the source libraries' module structure, independently of the converters:

- maskrcnn-benchmark (``maskrcnn_benchmark/modeling``): ``backbone.body.stem.{conv1,bn1}``,
  ``backbone.body.layer{s}.{b}.{conv,bn}{1,2,3}`` and ``downsample.{0,1}`` (``FrozenBatchNorm2d``
  buffers ``weight``, ``bias``, ``running_mean``, ``running_var``), ``backbone.fpn.fpn_inner{i}``
  and ``fpn_layer{i}`` (convs with bias), ``rpn.head.{conv,cls_logits,bbox_pred}`` and the
  ``rpn.anchor_generator.cell_anchors.{l}`` buffers, ``roi_heads.box.feature_extractor.{fc6,fc7}``
  (FPN) or ``.head.layer4`` (C4, shared with the mask branch), ``roi_heads.box.predictor.{cls_score,
  bbox_pred}``, ``roi_heads.mask.feature_extractor.mask_fcn{i}``, ``roi_heads.mask.predictor.
  {conv5_mask,mask_fcn_logits}``; 81 COCO classes, background first.
- Detectron (Caffe2 blobs; ``ResNet.py``, ``FPN.py``, ``fast_rcnn_heads.py``,
  ``mask_rcnn_heads.py``): ``conv1_w``, ``res_conv1_bn_{s,b}`` / ``conv1_gn_{s,b}``,
  ``res{s}_{b}_branch2{a,b,c}_w`` + ``_bn_{s,b}`` / ``_gn_{s,b}``, ``res{s}_{b}_branch1_*``,
  ``fpn_inner_res5_2_sum_*``, ``fpn_inner_res{s}_{n}_sum_lateral_*``, ``fpn_res{s}_{n}_sum_*``,
  ``conv_rpn_fpn2_*``, ``rpn_cls_logits_fpn2_*``, ``rpn_bbox_pred_fpn2_*``, ``head_conv{i}_*``,
  ``fc6_*``, ``fc7_*``, ``cls_score_*``, ``bbox_pred_*``, ``_mask_fcn{i}_*`` (GN) or
  ``_[mask]_fcn{i}_*``, ``conv5_mask_*``, ``mask_fcn_logits_*``; ``*_momentum`` for every
  trained blob; an ImageNet file has ``pred_{w,b}``.
"""
from collections import OrderedDict
from typing import Callable

import numpy as np
import torch

BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

Maker = Callable[[tuple], torch.Tensor]


def tensor_maker(device: str = 'cpu', seed: int = 0) -> Maker:
    """Random float tensors (``device='meta'``: shapes only, no memory)."""
    gen = torch.Generator().manual_seed(seed)
    if device == 'meta':
        return lambda shape: torch.empty(shape, device='meta')
    return lambda shape: torch.randn(shape, generator=gen)


def _bottleneck_widths(depth: int, groups: int, width_per_group: int):
    """(stage, block, in, inner, out) of every bottleneck of a ResNet / ResNeXt."""
    cin = 64
    for stage, count in enumerate(BLOCKS[depth], 1):
        inner = groups * width_per_group * 2**(stage - 1)
        out = 256 * 2**(stage - 1)
        for block in range(count):
            yield stage, block, cin, inner, out
            cin = out


def mrcnn_benchmark_state_dict(depth: int = 50, fpn: bool = True, mask: bool = True,
                               groups: int = 1, width_per_group: int = 64,
                               num_classes: int = 81, make: Maker = tensor_maker()
                               ) -> 'OrderedDict[str, torch.Tensor]':
    """A maskrcnn-benchmark GeneralizedRCNN state dict (R-50/101-C4/FPN, X-101-32x8d-FPN)."""
    sd: 'OrderedDict[str, torch.Tensor]' = OrderedDict()

    def frozen_bn(name: str, c: int) -> None:
        sd[f'{name}.weight'] = make((c, ))
        sd[f'{name}.bias'] = make((c, ))
        sd[f'{name}.running_mean'] = make((c, ))
        var = make((c, ))
        sd[f'{name}.running_var'] = var if var.is_meta else var.abs() + 0.5

    def block(prefix: str, cin: int, inner: int, out: int, first: bool) -> None:
        sd[f'{prefix}.conv1.weight'] = make((inner, cin, 1, 1))
        frozen_bn(f'{prefix}.bn1', inner)
        sd[f'{prefix}.conv2.weight'] = make((inner, inner // groups, 3, 3))
        frozen_bn(f'{prefix}.bn2', inner)
        sd[f'{prefix}.conv3.weight'] = make((out, inner, 1, 1))
        frozen_bn(f'{prefix}.bn3', out)
        if first:
            sd[f'{prefix}.downsample.0.weight'] = make((out, cin, 1, 1))
            frozen_bn(f'{prefix}.downsample.1', out)

    sd['backbone.body.stem.conv1.weight'] = make((64, 3, 7, 7))
    frozen_bn('backbone.body.stem.bn1', 64)
    head_blocks = []
    for stage, b, cin, inner, out in _bottleneck_widths(depth, groups, width_per_group):
        if stage == 4 and not fpn:
            head_blocks.append((b, cin, inner, out))
            continue
        block(f'backbone.body.layer{stage}.{b}', cin, inner, out, b == 0)
    if fpn:
        for i, cin in enumerate((256, 512, 1024, 2048), 1):
            sd[f'backbone.fpn.fpn_inner{i}.weight'] = make((256, cin, 1, 1))
            sd[f'backbone.fpn.fpn_inner{i}.bias'] = make((256, ))
            sd[f'backbone.fpn.fpn_layer{i}.weight'] = make((256, 256, 3, 3))
            sd[f'backbone.fpn.fpn_layer{i}.bias'] = make((256, ))
    channels, anchors, levels = (256, 3, 5) if fpn else (1024, 15, 1)
    for level in range(levels):
        sd[f'rpn.anchor_generator.cell_anchors.{level}'] = make((anchors, 4))
    sd['rpn.head.conv.weight'] = make((channels, channels, 3, 3))
    sd['rpn.head.conv.bias'] = make((channels, ))
    sd['rpn.head.cls_logits.weight'] = make((anchors, channels, 1, 1))
    sd['rpn.head.cls_logits.bias'] = make((anchors, ))
    sd['rpn.head.bbox_pred.weight'] = make((4 * anchors, channels, 1, 1))
    sd['rpn.head.bbox_pred.bias'] = make((4 * anchors, ))
    box = 'roi_heads.box.feature_extractor'
    if fpn:
        sd[f'{box}.fc6.weight'] = make((1024, 256 * 7 * 7))
        sd[f'{box}.fc6.bias'] = make((1024, ))
        sd[f'{box}.fc7.weight'] = make((1024, 1024))
        sd[f'{box}.fc7.bias'] = make((1024, ))
        rep = 1024
    else:
        for b, cin, inner, out in head_blocks:
            block(f'{box}.head.layer4.{b}', cin, inner, out, b == 0)
        rep = 2048
    sd['roi_heads.box.predictor.cls_score.weight'] = make((num_classes, rep))
    sd['roi_heads.box.predictor.cls_score.bias'] = make((num_classes, ))
    sd['roi_heads.box.predictor.bbox_pred.weight'] = make((4 * num_classes, rep))
    sd['roi_heads.box.predictor.bbox_pred.bias'] = make((4 * num_classes, ))
    if not mask:
        return sd
    if fpn:
        for i in range(1, 5):
            sd[f'roi_heads.mask.feature_extractor.mask_fcn{i}.weight'] = make((256, 256, 3, 3))
            sd[f'roi_heads.mask.feature_extractor.mask_fcn{i}.bias'] = make((256, ))
        mask_in = 256
    else:  # the mask branch's feature extractor IS the box one: saved under both names
        for key in [k for k in sd if k.startswith(f'{box}.head.')]:
            sd['roi_heads.mask.feature_extractor.' + key[len(box) + 1:]] = sd[key]
        mask_in = 2048
    sd['roi_heads.mask.predictor.conv5_mask.weight'] = make((mask_in, 256, 2, 2))
    sd['roi_heads.mask.predictor.conv5_mask.bias'] = make((256, ))
    sd['roi_heads.mask.predictor.mask_fcn_logits.weight'] = make((num_classes, 256, 1, 1))
    sd['roi_heads.mask.predictor.mask_fcn_logits.bias'] = make((num_classes, ))
    return sd


def detectron_blobs(depth: int = 50, gn: bool = True, detector: bool = True,
                    box_head: str = '4conv1fc', momentum: bool = True, num_classes: int = 81,
                    make: Callable[[tuple], np.ndarray] = None) -> 'dict[str, np.ndarray]':
    """Detectron blobs of a Mask R-CNN R-50/101-FPN (GN: ``e2e_mask_rcnn_R-*-FPN_*_gn``, BN*:
    ``e2e_mask_rcnn_R-*-FPN_2x``), or of its ImageNet backbone (``detector=False``:
    ``R-50-GN.pkl``); GN models put the stride on the 3x3 conv, BN* ones on the 1x1."""
    rng = np.random.default_rng(0)
    make = make or (lambda shape: rng.standard_normal(shape, dtype=np.float32))
    blobs: 'dict[str, np.ndarray]' = {}

    def norm(conv: str, c: int, stem: bool = False) -> None:
        if gn:
            blobs[f'{conv}_gn_s'], blobs[f'{conv}_gn_b'] = make((c, )), make((c, ))
        else:
            name = 'res_conv1_bn' if stem else f'{conv}_bn'
            blobs[f'{name}_s'], blobs[f'{name}_b'] = make((c, )), make((c, ))

    def conv(name: str, shape: tuple, bias: bool = False, with_norm: bool = False) -> None:
        blobs[f'{name}_w'] = make(shape)
        if bias:
            blobs[f'{name}_b'] = make((shape[0], ))
        if with_norm:
            norm(name, shape[0])

    conv('conv1', (64, 3, 7, 7))
    norm('conv1', 64, stem=True)
    last = {}
    for stage, b, cin, inner, out in _bottleneck_widths(depth, 1, 64):
        prefix = f'res{stage + 1}_{b}'
        conv(f'{prefix}_branch2a', (inner, cin, 1, 1), with_norm=True)
        conv(f'{prefix}_branch2b', (inner, inner, 3, 3), with_norm=True)
        conv(f'{prefix}_branch2c', (out, inner, 1, 1), with_norm=True)
        if b == 0:
            conv(f'{prefix}_branch1', (out, cin, 1, 1), with_norm=True)
        last[stage + 1] = b
    if not detector:
        blobs['pred_w'], blobs['pred_b'] = make((1000, 2048)), make((1000, ))
    else:
        fpn_norm = dict(bias=not gn, with_norm=gn)
        for s, cin in zip((5, 4, 3, 2), (2048, 1024, 512, 256)):
            lateral = '' if s == 5 else '_lateral'
            conv(f'fpn_inner_res{s}_{last[s]}_sum{lateral}', (256, cin, 1, 1), **fpn_norm)
            conv(f'fpn_res{s}_{last[s]}_sum', (256, 256, 3, 3), **fpn_norm)
        conv('conv_rpn_fpn2', (256, 256, 3, 3), bias=True)
        conv('rpn_cls_logits_fpn2', (3, 256, 1, 1), bias=True)
        conv('rpn_bbox_pred_fpn2', (12, 256, 1, 1), bias=True)
        if box_head == '4conv1fc':
            for i in range(1, 5):
                conv(f'head_conv{i}', (256, 256, 3, 3), bias=not gn, with_norm=gn)
            conv('fc6', (1024, 256 * 7 * 7), bias=True)
        else:
            conv('fc6', (1024, 256 * 7 * 7), bias=True)
            conv('fc7', (1024, 1024), bias=True)
        conv('cls_score', (num_classes, 1024), bias=True)
        conv('bbox_pred', (4 * num_classes, 1024), bias=True)
        for i in range(1, 5):
            name = f'_mask_fcn{i}' if gn else f'_[mask]_fcn{i}'
            conv(name, (256, 256, 3, 3), bias=not gn, with_norm=gn)
        conv('conv5_mask', (256, 256, 2, 2), bias=True)
        conv('mask_fcn_logits', (num_classes, 256, 1, 1), bias=True)
    if momentum:
        blobs.update({f"{k}_momentum": np.zeros(v.shape, v.dtype) for k, v in list(blobs.items())})
    return blobs
