"""tools/model_converters/detectron2segdet.py on Detectron blobs with Detectron's names and
shapes (converter_sources.py): the GN Mask R-CNN models and the R-50-GN / R-101-GN ImageNet
backbones of Detectron's GN page, and a BN* (AffineChannel) model."""
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from converter_sources import detectron_blobs
from segdet.engine import load_checkpoint_file, register_all_modules
from segdet.model_converters import FORMATS, ConversionError, convert_checkpoint
from segdet.model_converters.cli import main
from segdet.model_converters.core import convert_state_dict
from segdet.model_converters.target import load_target_config, target_shapes
from segdet.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
FMT = FORMATS['detectron']
GN_R50 = 'gn/mask-rcnn_r50_fpn_gn-all_2x_coco.py'


def lazy_zeros(shape: tuple) -> np.ndarray:
    return np.zeros(shape, np.float32)  # calloc: no memory is touched


def as_meta(blobs: dict) -> dict:
    return {k: torch.empty(v.shape, device='meta') for k, v in blobs.items()}


def convert(blobs: dict, config: str, part=None):
    targets = target_shapes(load_target_config(REPO / 'configs' / config), part)
    return targets, convert_state_dict(as_meta(blobs), targets, FMT.make_plan(targets),
                                       dropped=FMT.dropped, expected=FMT.expected)


# Detectron model (GN page): (blob arguments, segdet config, converted part)
MODELS_ = {
    '48616381 R-50-FPN GN 2x': (dict(depth=50), GN_R50, None),
    '48616724 R-101-FPN GN 2x': (dict(depth=101), 'gn/mask-rcnn_r101_fpn_gn-all_2x_coco.py', None),
    '48734751 R-50-FPN GN 3x': (dict(depth=50), 'gn/mask-rcnn_r50_fpn_gn-all_3x_coco.py', None),
    '48734779 R-101-FPN GN 3x': (dict(depth=101), 'gn/mask-rcnn_r101_fpn_gn-all_3x_coco.py', None),
    '49025460 R-50-FPN GN scratch 3x': (dict(depth=50),
                                        'gn/mask-rcnn_r50-scratch_fpn_gn-all_3x_coco.py', None),
    'R-50-GN.pkl (ImageNet)': (dict(depth=50, detector=False), GN_R50, 'backbone'),
    'R-101-GN.pkl (ImageNet)': (dict(depth=101, detector=False),
                                'gn/mask-rcnn_r101_fpn_gn-all_2x_coco.py', 'backbone'),
    '35859007 R-50-FPN BN* 2x': (dict(depth=50, gn=False, box_head='2mlp'),
                                 'mask_rcnn/mask-rcnn_r50-caffe_fpn_1x_coco.py', None),
}


@pytest.mark.parametrize('model_id', list(MODELS_))
def test_every_blob_maps_once_and_every_weight_is_filled(model_id):
    kwargs, config, part = MODELS_[model_id]
    blobs = detectron_blobs(**kwargs, make=lazy_zeros)
    targets, (out, report) = convert(blobs, config, part)
    assert list(out) == list(targets)
    assert all(tuple(out[k].shape) == tuple(s) for k, s in targets.items())
    assert all(k.endswith('_momentum') or k.startswith('pred_') for k in report.dropped)
    assert len(report.dropped) == len(blobs) - len(targets) + len(report.constants)
    if kwargs.get('gn', True):
        assert not report.constants  # GN: every tensor comes from the file
    else:  # BN* (AffineChannel): the BN statistics are constants
        assert {k.rpartition('.')[2] for k in report.constants} == {
            'running_mean', 'running_var', 'num_batches_tracked'}


def test_imagenet_backbone_pkl_becomes_a_pretrained_backbone_checkpoint(tmp_path, capsys):
    blobs = detectron_blobs(depth=50, detector=False, momentum=False)
    path = tmp_path / 'R-50-GN.pkl'
    with open(path, 'wb') as f:  # as Detectron (Python 2) wrote them
        pickle.dump(dict(blobs=blobs, cfg='MODEL:\n  TYPE: ...\n'), f, protocol=2)
    out = tmp_path / 'resnet50_gn.pth'
    config = REPO / 'configs' / GN_R50
    assert main('detectron', [str(path), str(out), '--config', str(config)]) == 0
    assert 'backbone only' in capsys.readouterr().out
    ckpt = load_checkpoint_file(out)
    assert ckpt['meta']['part'] == 'backbone'
    state = ckpt['state_dict']
    assert torch.equal(state['conv1.weight'], torch.from_numpy(blobs['conv1_w']))
    assert torch.equal(state['gn1.weight'], torch.from_numpy(blobs['conv1_gn_s']))
    assert torch.equal(state['layer3.5.gn2.bias'], torch.from_numpy(blobs['res4_5_branch2b_gn_b']))
    assert torch.equal(state['layer4.0.downsample.1.weight'],
                       torch.from_numpy(blobs['res5_0_branch1_gn_s']))
    # ... and it initialises the config's backbone through init_cfg, with segdet's loader
    register_all_modules(init_default_scope=False)
    cfg = load_target_config(config)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(out))
    with DefaultScope.overwrite_default_scope('segdet'):
        backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    assert torch.equal(backbone.layer2[3].conv3.weight,
                       torch.from_numpy(blobs['res3_3_branch2c_w']))


def test_detector_values_and_classes():
    blobs = detectron_blobs(depth=50, momentum=False)
    tensors = {k: torch.from_numpy(v) for k, v in blobs.items()}
    targets = target_shapes(load_target_config(REPO / 'configs' / GN_R50))
    out, _ = convert_state_dict(tensors, targets, FMT.make_plan(targets), dropped=FMT.dropped)
    assert torch.equal(out['neck.lateral_convs.3.conv.weight'], tensors['fpn_inner_res5_2_sum_w'])
    assert torch.equal(out['neck.lateral_convs.1.gn.bias'],
                       tensors['fpn_inner_res3_3_sum_lateral_gn_b'])
    assert torch.equal(out['neck.fpn_convs.2.gn.weight'], tensors['fpn_res4_5_sum_gn_s'])
    assert torch.equal(out['rpn_head.rpn_reg.weight'], tensors['rpn_bbox_pred_fpn2_w'])
    assert torch.equal(out['roi_head.bbox_head.shared_convs.3.gn.weight'],
                       tensors['head_conv4_gn_s'])
    assert torch.equal(out['roi_head.bbox_head.shared_fcs.0.weight'], tensors['fc6_w'])
    assert torch.equal(out['roi_head.mask_head.convs.0.conv.weight'], tensors['_mask_fcn1_w'])
    cls = tensors['cls_score_w']
    assert torch.equal(out['roi_head.bbox_head.fc_cls.weight'], torch.cat([cls[1:], cls[:1]]))
    assert torch.equal(out['roi_head.bbox_head.fc_reg.weight'], tensors['bbox_pred_w'][4:])
    assert torch.equal(out['roi_head.mask_head.conv_logits.bias'],
                       tensors['mask_fcn_logits_b'][1:])


@pytest.mark.parametrize('case', ['r101-for-r50', 'bn-for-gn', 'detector-for-faster'])
def test_weights_of_another_architecture_are_refused(case):
    if case == 'r101-for-r50':
        blobs, config = detectron_blobs(depth=101, make=lazy_zeros), GN_R50
        pattern = (r"159 of the \d+ tensors of the file are not used \(first: "
                   r"'res4_6_branch2a_w'")
    elif case == 'bn-for-gn':
        blobs, config = detectron_blobs(depth=50, gn=False, make=lazy_zeros), GN_R50
        pattern = r"'backbone.gn1.weight' <- 'conv1_gn_s'"
    else:
        blobs = detectron_blobs(depth=50, gn=False, box_head='2mlp', make=lazy_zeros)
        config = 'faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco.py'
        pattern = r"12 of the \d+ tensors of the file are not used \(first: '_\[mask\]_fcn1_w'"
    with pytest.raises(ConversionError, match=pattern) as err:
        convert(blobs, config)
    assert err.match('expected a Detectron')


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ('echo unpickled',))

    path = tmp_path / 'evil.pkl'
    with open(path, 'wb') as f:
        pickle.dump(dict(blobs=dict(conv1_w=Payload())), f, protocol=2)
    with pytest.raises(ConversionError, match=r'refusing to unpickle (posix|nt)\.system'):
        convert_checkpoint(path, tmp_path / 'out.pth', REPO / 'configs' / GN_R50, 'detectron')
    assert not (tmp_path / 'out.pth').exists()
