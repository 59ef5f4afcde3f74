"""FBNetRPNHead: the arch's RPN blocks as the conv tower, 1x1 predictors, its init and
arguments."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from segdet.models.backbones.fbnet_blocks import IRFBlock
from segdet.models.dense_heads import FBNetRPNHead, RPNHead
from segdet.registry import MODELS

ANCHORS = dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32], ratios=[0.5, 1.0, 2.0],
               strides=[16])


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build(**kwargs) -> FBNetRPNHead:
    init_default_scope('segdet')
    return MODELS.build(dict(type='FBNetRPNHead', anchor_generator=ANCHORS, **kwargs))


# arch -> (trunk channels, number of RPN blocks, their expansion)
RPN_STAGES = {'default': (96, 3, 6), 'cham_v1a': (88, 3, 8), 'xirb16d_dsmask': (128, 3, 6)}


@pytest.mark.parametrize('arch', sorted(RPN_STAGES))
def test_tower_and_output_shapes(arch):
    channels, num_blocks, expansion = RPN_STAGES[arch]
    head = build(in_channels=channels, arch=arch).eval()
    assert isinstance(head, RPNHead) and head.feat_channels == channels
    blocks = list(head.rpn_conv)
    assert len(blocks) == num_blocks and all(isinstance(b, IRFBlock) for b in blocks)
    assert [b.mid_channels for b in blocks] == [channels * expansion] * num_blocks
    assert all(b.use_res_connect for b in blocks)  # stride 1, width kept
    x = torch.randn(2, channels, 5, 7)
    with torch.no_grad():
        (cls, ), (reg, ) = head((x, ))
        tower = head.rpn_conv(x)
    assert cls.shape == (2, 15, 5, 7) and reg.shape == (2, 60, 5, 7)
    # no ReLU between the blocks and the predictors (maskrcnn-benchmark's regressor)
    assert (tower < 0).any()
    torch.testing.assert_close(cls, head.rpn_cls(tower))


def test_init_keeps_the_blocks_kaiming_and_the_predictors_normal():
    torch.manual_seed(0)
    head = build(in_channels=96)
    head.init_weights()
    assert head.rpn_cls.weight.std().item() == pytest.approx(0.01, rel=0.2)
    assert head.rpn_reg.weight.std().item() == pytest.approx(0.01, rel=0.2)
    assert torch.count_nonzero(head.rpn_cls.bias) == 0
    pw = head.rpn_conv.xif5_0.pw.conv.weight  # Kaiming fan-out: std sqrt(2 / 576)
    assert pw.std().item() == pytest.approx((2 / 576) ** 0.5, rel=0.2)


def test_num_blocks_keeps_the_last_blocks_and_arguments_are_checked():
    head = build(in_channels=96, num_blocks=1)
    assert [name for name, _ in head.rpn_conv.named_children()] == ['xif5_2']
    with pytest.raises(ValueError, match='num_blocks=4, but the arch has 3 RPN blocks'):
        build(in_channels=96, num_blocks=4)
    with pytest.raises(ValueError, match='feat_channels=256, but .* give 96 channels'):
        build(in_channels=96, feat_channels=256)
    with pytest.raises(KeyError, match="unknown arch 'fbnet_c'"):
        build(in_channels=96, arch='fbnet_c')


def test_loss_and_proposals_on_one_image():
    torch.manual_seed(0)
    head = build(in_channels=96,
                 train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7,
                                              neg_iou_thr=0.3, min_pos_iou=0.3,
                                              match_low_quality=True, ignore_iof_thr=-1),
                                sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5,
                                             neg_pos_ub=-1, add_gt_as_proposals=False),
                                allowed_border=0, pos_weight=-1),
                 test_cfg=dict(nms_pre=300, max_per_img=20,
                               nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0))
    head.init_weights()
    x = (torch.randn(1, 96, 4, 6), )
    meta = dict(img_shape=(64, 96), pad_shape=(64, 96), scale_factor=(1.0, 1.0))
    gt = InstanceData(bboxes=torch.tensor([[8., 8., 50., 40.]]), labels=torch.tensor([2]))
    cls, reg = head(x)
    losses = head.loss_by_feat(cls, reg, [gt], [meta])
    assert set(losses) == {'loss_rpn_cls', 'loss_rpn_bbox'}
    sum(v.sum() if isinstance(v, torch.Tensor) else sum(v) for v in losses.values()).backward()
    assert head.rpn_conv.xif5_0.pw.conv.weight.grad is not None
    head.eval()
    with torch.no_grad():
        (proposals, ) = head.predict_by_feat(*head(x), batch_img_metas=[meta])
    assert proposals.bboxes.shape[1] == 4 and 0 < len(proposals) <= 20
