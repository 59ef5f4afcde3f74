"""The FBNet second stage: FBNetHeadStage (box blocks on 6x6 RoIs), FBNetMaskHead (12x12 masks),
FBNetRoIHead (the mask branch skips the box branch's shared head), and a Mask R-CNN built from
the FBNet config training and predicting on one small image."""
from pathlib import Path

import pytest
import torch
from detection_fixtures import box_sample
from mmengine.config import Config
from mmengine.registry import init_default_scope

from segdet.models.roi_heads import (FBNetHeadStage, FBNetMaskHead, FBNetRoIHead,
                                     StandardRoIHead)
from segdet.registry import MODELS
from segdet.structures.bbox import bbox2roi

CONFIGS = Path(__file__).resolve().parents[3] / 'configs'


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# arch -> (trunk channels, box head output channels, mask head output channels or None)
HEADS = {'default': (96, 240, 80), 'cham_v1a': (88, 104, None),
         'xirb16d_dsmask': (128, 160, 64)}


@pytest.mark.parametrize('arch', sorted(HEADS))
def test_box_blocks_turn_6x6_rois_into_3x3(arch):
    trunk, box, _ = HEADS[arch]
    head = MODELS.build(dict(type='FBNetHeadStage', in_channels=trunk, arch=arch))
    assert head.out_channels == box and head.last is None and head.strides[0] == 2
    assert head.output_size(6) == 3
    out = head(torch.randn(5, trunk, 6, 6))  # training mode: BN on the RoI batch
    assert out.shape == (5, box, 3, 3)
    assert head(torch.randn(0, trunk, 6, 6)).shape == (0, box, 3, 3)


def test_box_stage_options():
    kept = FBNetHeadStage(96, 'default', stride=1)
    assert kept.output_size(6) == 6 and kept(torch.randn(2, 96, 6, 6)).shape == (2, 240, 6, 6)
    last = FBNetHeadStage(96, 'default', last_scale=-2.0)  # a 1x1 conv to 2x the width
    assert last.last.conv.out_channels == last.out_channels == 480
    assert FBNetHeadStage(96, 'default', last_scale=1.0).last is None  # the archs' last c is 0
    two = FBNetHeadStage(96, 'default', block_indices=[0, 3])
    assert [n for n, _ in two.blocks.named_children()] == ['xif4_0', 'xif4_3']
    with pytest.raises(ValueError, match='stride must be 0'):
        FBNetHeadStage(96, 'default', stride=4)


@pytest.mark.parametrize('arch', ['default', 'xirb16d_dsmask'])
def test_mask_head_gives_12x12_masks(arch):
    trunk, _, channels = HEADS[arch]
    head = MODELS.build(dict(type='FBNetMaskHead', in_channels=trunk, arch=arch,
                             num_classes=3))
    head.init_weights()
    assert head.mask_size == 12 and not hasattr(head, 'upsample')
    assert head.conv_logits.in_channels == channels and head.conv_logits.kernel_size == (1, 1)
    assert head(torch.randn(4, trunk, 6, 6)).shape == (4, 3, 12, 12)
    assert head(torch.randn(0, trunk, 6, 6)).shape == (0, 3, 12, 12)
    agnostic = FBNetMaskHead(trunk, arch=arch, num_classes=3, class_agnostic=True)
    assert agnostic(torch.randn(2, trunk, 6, 6)).shape == (2, 1, 12, 12)


def test_mask_size_in_train_cfg_must_match_the_head():
    head = FBNetMaskHead(96, arch='default', num_classes=3)
    with pytest.raises(ValueError, match=r'mask_size=28, but this head predicts 12x12 masks.*'
                                         r'set mask_size=12'):
        head.get_targets([], [], dict(mask_size=28))


def test_mask_head_needs_an_arch_with_mask_stages():
    with pytest.raises(KeyError, match="no 'mask' stages"):
        FBNetMaskHead(88, arch='cham_v1a')


def _roi_head(type_: str):
    init_default_scope('segdet')
    cfg = Config.fromfile(str(CONFIGS / '_base_' / 'models' / 'mask-rcnn_fbnet.py'))
    roi = cfg.model.roi_head
    roi.type = type_
    roi.bbox_head.num_classes = roi.mask_head.num_classes = 3
    return MODELS.build(roi).eval()


def test_mask_branch_skips_the_box_shared_head():
    fbnet = _roi_head('FBNetRoIHead')
    assert isinstance(fbnet, StandardRoIHead) and isinstance(fbnet, FBNetRoIHead)
    assert isinstance(fbnet.shared_head, FBNetHeadStage) and not fbnet.share_roi_extractor
    calls = []
    fbnet.shared_head.register_forward_hook(lambda *args: calls.append(1))
    x = (torch.randn(1, 96, 8, 8), )
    rois = bbox2roi([torch.tensor([[4., 4., 60., 60.], [10., 20., 40., 50.]])])
    with torch.no_grad():
        out = fbnet._mask_forward(x, rois=rois)
    assert out['mask_preds'].shape == (2, 3, 12, 12) and out['mask_feats'].shape == (2, 96, 6, 6)
    assert calls == []
    # StandardRoIHead (mmdetection's C4 semantics) would run the box blocks first.
    standard = _roi_head('StandardRoIHead')
    standard.shared_head.register_forward_hook(lambda *args: calls.append(1))
    with pytest.raises(RuntimeError):
        standard._mask_forward(x, rois=rois)  # 240 channels reach a 96-channel mask head
    assert calls == [1]


def test_mask_rcnn_fbnet_trains_and_predicts():
    init_default_scope('segdet')
    cfg = Config.fromfile(str(CONFIGS / 'fbnet' / 'mask-rcnn_fbnet-default_600_0.5x_coco.py'))
    cfg.model.roi_head.bbox_head.num_classes = cfg.model.roi_head.mask_head.num_classes = 3
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    img, sample = box_sample(64, 96, [[8, 8, 40, 40], [50, 20, 90, 60]], [0, 2])
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), True)
    losses = model(**data, mode='loss')
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'):
        assert key in losses
    assert torch.isfinite(losses['loss_mask'])
    model.eval()
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
    with torch.no_grad():
        (pred, ) = model(**data, mode='predict')
    inst = pred.pred_instances
    assert inst.masks.shape[1:] == (64, 96) and len(inst.masks) == len(inst.bboxes) > 0
