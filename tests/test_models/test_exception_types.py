"""segdet's exception rule, case by case, for backbones, necks, heads, losses and task modules.

The rule (docs/customize_models.md, "Exceptions instead of assertions"):
- TypeError: an argument of the wrong Python type (an int where a list is needed, a str where
  an int or a dict is needed, an unexpected keyword).
- ValueError: a right-typed argument with a bad value: out of range, empty, not one of an
  option's allowed values (style, mode, reduction, input_transform...), inconsistent with
  another argument, a tensor of the wrong shape; also a required component left None.
- KeyError: a key or name that is looked up and missing: a required key of a config dict,
  metainfo or results dict; a registered ``type``; a name that picks the class or
  architecture to build (ResNet ``depth``, HRNet ``block``).
- NotImplementedError: an mmseg / mmdet option that segdet deliberately does not support.
- IndexError: ``in_index`` past the feature maps a decode head receives at forward time.
Every message names the class (or function), the argument and the value.

Each case below builds (or runs) a component through its registry, as a config would, and
checks the exception type and a fragment of the message.
"""
import copy
from typing import Any, Callable

import pytest
import torch

import segdet.models  # noqa: F401 (registers the modules)
from segdet.models.decode_heads.decode_head import transform_inputs
from segdet.models.losses import accuracy
from segdet.models.utils import dispatch_forward
from segdet.registry import MODELS, TASK_UTILS


def _extra(**stage2: Any) -> dict:
    """A tiny HRNet ``extra``; ``stage2`` overrides keys of stage 2."""
    extra = dict(stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(1, ),
                             num_channels=(8, )))
    for s in (2, 3, 4):
        widths = tuple(4 * 2**i for i in range(s))
        extra[f'stage{s}'] = dict(num_modules=1, num_branches=s, block='BASIC',
                                  num_blocks=(1, ) * s, num_channels=widths)
    extra['stage2'].update(stage2)
    return extra


def build(type_: str, registry=MODELS, **kwargs: Any) -> Callable[[], Any]:
    """A callable that builds ``dict(type=type_, **kwargs)`` from ``registry``."""
    return lambda: registry.build(dict(type=type_, **copy.deepcopy(kwargs)))


FCN = dict(in_channels=8, channels=4, num_classes=3)
RPN = dict(in_channels=8, feat_channels=8,
           anchor_generator=dict(type='AnchorGenerator', scales=[8], ratios=[1.0], strides=[4]))
ROI_EXTRACTOR = dict(type='SingleRoIExtractor', roi_layer=dict(type='RoIAlign', output_size=7),
                     out_channels=8, featmap_strides=[4])
PRED, TARGET = torch.rand(4, 3), torch.tensor([0, 1, 2, 0])


def _predict_without_img_shape() -> None:
    head = MODELS.build(dict(type='FCNHead', **FCN))
    head.predict([torch.rand(1, 8, 4, 4)], [dict(ori_shape=(8, 8))])


def _cross_entropy_with_unknown_argument() -> None:
    loss = MODELS.build(dict(type='CrossEntropyLoss'))
    loss(torch.rand(2, 3), torch.tensor([0, 1]), ignore_idx=1)


def _l1_with_mismatched_shapes() -> None:
    MODELS.build(dict(type='L1Loss'))(torch.rand(2, 4), torch.rand(3, 4))


CASES = [
    # ---------------------------------------------------------------- backbones
    ('resnet-depth', build('ResNet', depth=51), KeyError, 'invalid depth 51'),
    ('resnet-style', build('ResNet', depth=18, style='pytorch2'), ValueError, "'pytorch2'"),
    ('resnet-num-stages', build('ResNet', depth=18, num_stages=5), ValueError, 'num_stages'),
    ('resnet-out-indices', build('ResNet', depth=18, out_indices=(4, )), ValueError,
     'out_indices'),
    ('resnet-pretrained-type', build('ResNet', depth=18, pretrained=3), TypeError, 'pretrained'),
    ('resnet-pretrained-and-init', build('ResNet', depth=18, pretrained='x.pth',
                                         init_cfg=dict(type='Pretrained', checkpoint='y.pth')),
     ValueError, 'not both'),
    ('resnet-dcn', build('ResNet', depth=18, dcn=dict(type='DCNv2')), NotImplementedError, 'dcn'),
    ('hrnet-missing-stage', lambda: MODELS.build(dict(type='HRNet', extra={
        k: v for k, v in _extra().items() if k != 'stage3'})), KeyError, 'stage3'),
    ('hrnet-missing-key', build('HRNet', extra={**_extra(), 'stage4': dict(block='BASIC')}),
     KeyError, 'stage4: missing keys'),
    ('hrnet-block-name', build('HRNet', extra=_extra(block='BASICX')), KeyError, 'BASICX'),
    ('hrnet-branches', build('HRNet', extra=_extra(num_channels=(4, ))), ValueError,
     'num_branches=2'),
    # ---------------------------------------------------------------- neck
    ('fpn-extra-convs', build('FPN', in_channels=[4, 8], out_channels=4, num_outs=3,
                              add_extra_convs='on_top'), ValueError, 'on_top'),
    ('fpn-num-outs', build('FPN', in_channels=[4, 8, 16], out_channels=4, num_outs=2),
     ValueError, 'num_outs=2'),
    # ---------------------------------------------------------------- decode heads
    ('head-channels-type', build('FCNHead', **{**FCN, 'channels': '4'}), TypeError,
     "channels must be an int, got str '4'"),
    ('head-channels-value', build('FCNHead', **{**FCN, 'channels': 0}), ValueError,
     'channels must be >= 1, got 0'),
    ('head-num-classes-value', build('FCNHead', **{**FCN, 'num_classes': 0}), ValueError,
     'num_classes must be >= 1'),
    ('head-num-classes-type', build('FCNHead', **{**FCN, 'num_classes': [3]}), TypeError,
     'num_classes must be an int'),
    ('head-out-channels', build('FCNHead', **FCN, out_channels=2), ValueError, 'out_channels'),
    ('head-input-transform', build('FCNHead', **FCN, input_transform='concat'), ValueError,
     "'concat'"),
    ('head-in-channels-list', build('FCNHead', **{**FCN, 'in_channels': [8]}), TypeError,
     'in_channels and in_index must be ints'),
    ('head-in-index-int', build('FCNHead', **{**FCN, 'in_channels': [8, 8]}, in_index=0,
                                input_transform='resize_concat'), TypeError, 'lists/tuples'),
    ('head-in-index-length', build('FCNHead', **{**FCN, 'in_channels': [8, 8]}, in_index=[0],
                                   input_transform='resize_concat'), ValueError, 'equal length'),
    ('head-loss-decode-type', build('FCNHead', **FCN, loss_decode='CrossEntropyLoss'),
     TypeError, 'loss_decode'),
    ('head-loss-decode-empty', build('FCNHead', **FCN, loss_decode=[]), ValueError,
     'got an empty list'),
    ('head-sampler', build('FCNHead', **FCN, sampler=dict(type='OHEMPixelSampler', min_kept=1)),
     ValueError, 'OHEMPixelSampler: min_kept must be > 1, got 1'),
    ('head-dropout', build('FCNHead', **FCN, dropout_ratio=1.0), ValueError, 'dropout_ratio'),
    ('fcn-num-convs-type', build('FCNHead', **FCN, num_convs=2.0), TypeError, 'num_convs'),
    ('fcn-num-convs-value', build('FCNHead', **FCN, num_convs=-1), ValueError,
     'num_convs must be >= 0'),
    ('fcn-dilation-type', build('FCNHead', **FCN, dilation='2'), TypeError, 'dilation'),
    ('psp-pool-scales-type', build('PSPHead', **FCN, pool_scales=2), TypeError, 'pool_scales'),
    ('psp-pool-scales-empty', build('PSPHead', **FCN, pool_scales=()), ValueError,
     'pool_scales must not be empty'),
    ('aspp-dilations-entry-type', build('ASPPHead', **FCN, dilations=(1, 6.0)), TypeError,
     'entry 6.0'),
    ('aspp-dilations-value', build('ASPPHead', **FCN, dilations=(1, 0)), ValueError,
     'dilations entries must be >= 1'),
    ('head-predict-metainfo', _predict_without_img_shape, KeyError, 'img_shape'),
    ('head-in-index-range', lambda: transform_inputs([torch.rand(1, 2, 2, 2)], 3, None, False),
     IndexError, 'in_index=3'),
    # ---------------------------------------------------------------- dense heads
    ('anchor-head-num-classes-type', build('AnchorHead', num_classes='3', **RPN), TypeError,
     "num_classes must be an int, got str '3'"),
    ('anchor-head-num-classes-value', build('AnchorHead', num_classes=0, **RPN), ValueError,
     'num_classes must be >= 1'),
    ('anchor-head-no-assigner', build('AnchorHead', num_classes=2, **RPN, train_cfg=dict()),
     KeyError, 'assigner'),
    ('rpn-num-classes', build('RPNHead', num_classes=2, **RPN), ValueError,
     'num_classes must be 1'),
    ('rpn-train-cfg-type', build('RPNHead', **RPN, train_cfg='rpn'), TypeError, 'train_cfg'),
    ('rpn-reg-decoded', build('RPNHead', **RPN, reg_decoded_bbox=True), NotImplementedError,
     'reg_decoded_bbox'),
    # ---------------------------------------------------------------- RoI heads
    ('roi-layer-type', build('SingleRoIExtractor', roi_layer=dict(type='RoIPool', output_size=7),
                             out_channels=8, featmap_strides=[4]), NotImplementedError,
     'RoIPool'),
    ('convfc-no-shared', build('ConvFCBBoxHead', in_channels=8, num_classes=2), ValueError,
     'at least one shared'),
    ('roi-head-no-bbox-head', build('StandardRoIHead', bbox_roi_extractor=ROI_EXTRACTOR),
     ValueError, 'bbox_head'),
    ('mask-head-upsample', build('FCNMaskHead', upsample_cfg=dict(type='bilinear')),
     NotImplementedError, 'upsample_cfg'),
    # ---------------------------------------------------------------- task modules
    ('anchor-center-offset', build('AnchorGenerator', TASK_UTILS, strides=[4], ratios=[1.0],
                                   scales=[8], center_offset=2), ValueError, 'center_offset'),
    ('assigner-iou-calculator', build('MaxIoUAssigner', TASK_UTILS, pos_iou_thr=0.5,
                                      neg_iou_thr=0.4,
                                      iou_calculator=dict(type='BboxOverlaps2D_GLIP')),
     NotImplementedError, 'BboxOverlaps2D_GLIP'),
    ('sampler-pos-fraction', build('RandomSampler', TASK_UTILS, num=8, pos_fraction=1.5),
     ValueError, 'pos_fraction'),
    ('coder-box-type', build('DeltaXYWHBBoxCoder', TASK_UTILS, use_box_type=True),
     NotImplementedError, 'use_box_type'),
    # ---------------------------------------------------------------- losses
    ('ce-reduction', build('CrossEntropyLoss', reduction='avg'), ValueError,
     "CrossEntropyLoss: reduction must be one of ('none', 'mean', 'sum'), got 'avg'"),
    ('ce-sigmoid-and-mask', build('CrossEntropyLoss', use_sigmoid=True, use_mask=True),
     ValueError, 'use_sigmoid and use_mask'),
    ('ce-unknown-argument', _cross_entropy_with_unknown_argument, TypeError, 'ignore_idx'),
    ('smooth-l1-beta', lambda: MODELS.build(dict(type='SmoothL1Loss', beta=0))(
        torch.rand(2, 4), torch.rand(2, 4)), ValueError, 'beta'),
    ('l1-shapes', _l1_with_mismatched_shapes, ValueError, 'differ in shape'),
    ('accuracy-topk-value', lambda: accuracy(PRED, TARGET, topk=0), ValueError,
     'topk must be >= 1'),
    ('accuracy-topk-type', lambda: accuracy(PRED, TARGET, topk='1'), TypeError, "str '1'"),
    ('accuracy-topk-entry', lambda: accuracy(PRED, TARGET, topk=(1, 2.0)), TypeError,
     'entry 2.0'),
    ('accuracy-topk-range', lambda: accuracy(PRED, TARGET, topk=4), ValueError,
     'exceeds the 3 classes'),
    ('class-weight-file', build('CrossEntropyLoss', class_weight='/nonexistent/w.npy'),
     FileNotFoundError, 'w.npy'),
    # ---------------------------------------------------------------- segmentors, preprocessor
    ('cascade-decode-head-type', build('CascadeEncoderDecoder', num_stages=2,
                                       backbone=dict(type='ResNet', depth=18),
                                       decode_head=dict(type='FCNHead', **FCN)),
     TypeError, 'got dict'),
    ('cascade-decode-head-length', build('CascadeEncoderDecoder', num_stages=2,
                                         backbone=dict(type='ResNet', depth=18),
                                         decode_head=[dict(type='FCNHead', **FCN)]),
     ValueError, 'got 1 of them'),
    ('preprocessor-mean-only', build('SegDataPreProcessor', mean=[0, 0, 0]), ValueError,
     'mean and std'),
    ('forward-mode', lambda: dispatch_forward(torch.nn.Identity(), torch.rand(1), None, 'train'),
     ValueError, "'train'"),
]


def test_the_table_covers_every_rule_and_area() -> None:
    kinds = {error for _, _, error, _ in CASES}
    assert {ValueError, TypeError, KeyError, NotImplementedError} <= kinds
    assert len(CASES) >= 30
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize('make,error,fragment', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_raises_the_documented_type(make: Callable[[], Any], error: type,
                                              fragment: str) -> None:
    with pytest.raises(error) as info:
        make()
    # Not one of the other rule types too (e.g. a KeyError that is also a ValueError).
    others = (ValueError, TypeError, KeyError, NotImplementedError, IndexError)
    assert [k for k in others if isinstance(info.value, k)] == \
        [k for k in others if issubclass(error, k)], type(info.value).__mro__
    message = info.value.args[0] if info.value.args else ''
    assert fragment in str(message), message
