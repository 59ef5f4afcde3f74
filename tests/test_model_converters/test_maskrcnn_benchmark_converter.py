"""tools/model_converters/maskrcnn_benchmark2segdet.py on state dicts with maskrcnn-benchmark's
key names and shapes (converter_sources.py) for the seeds' model ids: Faster / Mask R-CNN
R-50-C4, R-50-FPN, R-101-FPN, X-101-32x8d-FPN."""
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from converter_sources import mrcnn_benchmark_state_dict, tensor_maker
from segdet.engine import load_checkpoint_file
from segdet.model_converters import FORMATS, ConversionError, convert_checkpoint
from segdet.model_converters.core import convert_state_dict
from segdet.model_converters.resnet_keys import fold_frozen_bn
from segdet.model_converters.target import load_target_config, target_shapes

REPO = Path(__file__).resolve().parents[2]
FMT = FORMATS['maskrcnn-benchmark']

# model id: (state dict arguments, segdet config)
MODELS = {
    '6358800 R-50-C4 Faster': (dict(depth=50, fpn=False, mask=False),
                               'faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py'),
    '6358801 R-50-C4 Mask': (dict(depth=50, fpn=False, mask=True),
                             'mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py'),
    '6358793 R-50-FPN Faster': (dict(depth=50, mask=False),
                                'faster_rcnn/faster-rcnn_r50-caffe_fpn_1x_coco.py'),
    '6358792 R-50-FPN Mask': (dict(depth=50), 'mask_rcnn/mask-rcnn_r50-caffe_fpn_1x_coco.py'),
    '6358804 R-101-FPN Faster': (dict(depth=101, mask=False),
                                 'faster_rcnn/faster-rcnn_r101-caffe_fpn_1x_coco.py'),
    '6358805 R-101-FPN Mask': (dict(depth=101), 'mask_rcnn/mask-rcnn_r101-caffe_fpn_1x_coco.py'),
    '6358717 X-101-32x8d-FPN Faster': (dict(depth=101, mask=False, groups=32, width_per_group=8),
                                       'faster_rcnn/faster-rcnn_x101-32x8d_fpn_1x_coco.py'),
    '6358718 X-101-32x8d-FPN Mask': (dict(depth=101, groups=32, width_per_group=8),
                                     'mask_rcnn/mask-rcnn_x101-32x8d_fpn_1x_coco.py'),
}


def targets_of(config: str):
    return target_shapes(load_target_config(REPO / 'configs' / config))


@pytest.mark.parametrize('model_id', list(MODELS))
def test_every_key_maps_once_and_every_weight_is_filled(model_id):
    kwargs, config = MODELS[model_id]
    source = mrcnn_benchmark_state_dict(**kwargs, make=tensor_maker('meta'))
    if not kwargs.get('fpn', True) and kwargs.get('mask', True):
        source = mrcnn_benchmark_state_dict(**kwargs)  # the shared head is checked by value
    targets = targets_of(config)
    out, report = convert_state_dict(source, targets, FMT.make_plan(targets),
                                     dropped=FMT.dropped, duplicate_of=FMT.duplicate_of)
    assert list(out) == list(targets)
    assert all(tuple(out[k].shape) == tuple(s) for k, s in targets.items())
    # only the BN counters are constants; only the anchor buffers are dropped
    assert all(k.endswith('num_batches_tracked') for k in report.constants)
    assert report.dropped and all(k.startswith('rpn.anchor_generator.cell_anchors.')
                                  for k in report.dropped)
    used = len(source) - len(report.dropped) - len(report.duplicates)
    assert used == len(targets) - len(report.constants)


def test_values_classes_and_frozen_bn(tmp_path):
    source = mrcnn_benchmark_state_dict(depth=50, fpn=False, mask=True)
    path = tmp_path / 'model_final.pth'
    torch.save(dict(model={f'module.{k}': v for k, v in source.items()}, iteration=90000,
                    scheduler=dict(milestones=[60000, 80000], last_epoch=90000)), path)
    config = REPO / 'configs/mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py'
    report = convert_checkpoint(path, tmp_path / 'out.pth', config, 'maskrcnn-benchmark')
    assert len(report.duplicates) == 50  # the C4 mask branch's copy of head.layer4
    out = load_checkpoint_file(tmp_path / 'out.pth')['state_dict']
    box = 'roi_heads.box.feature_extractor.head.layer4.0'
    assert torch.equal(out['roi_head.shared_head.layer4.0.conv2.weight'],
                       source[f'{box}.conv2.weight'])
    assert torch.equal(out['backbone.layer2.1.conv3.weight'],
                       source['backbone.body.layer2.1.conv3.weight'])
    assert torch.equal(out['backbone.conv1.weight'], source['backbone.body.stem.conv1.weight'])
    assert torch.equal(out['backbone.bn1.weight'],
                       fold_frozen_bn(source['backbone.body.stem.bn1.weight'],
                                      source['backbone.body.stem.bn1.running_var']))
    assert torch.equal(out['backbone.bn1.running_var'],
                       source['backbone.body.stem.bn1.running_var'])
    cls = source['roi_heads.box.predictor.cls_score.weight']
    assert torch.equal(out['roi_head.bbox_head.fc_cls.weight'], torch.cat([cls[1:], cls[:1]]))
    reg = source['roi_heads.box.predictor.bbox_pred.bias']
    assert torch.equal(out['roi_head.bbox_head.fc_reg.bias'], reg[4:])
    logits = source['roi_heads.mask.predictor.mask_fcn_logits.weight']
    assert torch.equal(out['roi_head.mask_head.conv_logits.weight'], logits[1:])
    assert torch.equal(out['roi_head.mask_head.upsample.weight'],
                       source['roi_heads.mask.predictor.conv5_mask.weight'])


def test_r101_file_for_an_r50_config_is_refused(tmp_path):
    source = mrcnn_benchmark_state_dict(depth=101, make=tensor_maker('meta'))
    targets = targets_of('mask_rcnn/mask-rcnn_r50-caffe_fpn_1x_coco.py')
    with pytest.raises(ConversionError) as err:
        convert_state_dict(source, targets, FMT.make_plan(targets), dropped=FMT.dropped,
                           duplicate_of=FMT.duplicate_of, expected=FMT.expected)
    assert err.match(r"255 of the \d+ tensors of the file are not used \(first: "
                     r"'backbone.body.layer3.6.conv1.weight'")
    assert err.match('expected a maskrcnn-benchmark GeneralizedRCNN state dict')


def test_a_detectron_pickle_is_pointed_to_its_converter(tmp_path):
    path = tmp_path / 'model_final.pkl'
    with open(path, 'wb') as f:
        pickle.dump(dict(blobs=dict(conv1_w=np.zeros((64, 3, 7, 7), np.float32))), f, protocol=2)
    with pytest.raises(ConversionError, match='detectron2segdet.py'):
        convert_checkpoint(path, tmp_path / 'out.pth',
                           REPO / 'configs/mask_rcnn/mask-rcnn_r50-caffe_fpn_1x_coco.py',
                           'maskrcnn-benchmark')
    assert not (tmp_path / 'out.pth').exists()
