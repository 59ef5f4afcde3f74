"""A one-stage head is a subclass of AnchorHead alone: a RetinaNet-style head written here in
about 40 lines (layers and forward only) trains inside a SingleStageDetector and predicts."""
import pytest
import torch
from mmcv.cnn import ConvModule
from mmengine.registry import init_default_scope
from torch import nn

from segdet.models.dense_heads import AnchorHead
from segdet.registry import MODELS

from detection_fixtures import box_sample


# ----------------------------------------------------------------- the whole head: 40 lines
class TinyRetinaHead(AnchorHead):
    """RetinaNet's layout (mmdet key names): ``stacked_convs`` 3x3 convs per branch, then
    ``retina_cls`` / ``retina_reg``. Targets, losses and post-processing are AnchorHead's."""

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 2,
                 **kwargs) -> None:
        self.stacked_convs = stacked_convs
        super().__init__(num_classes, in_channels, **kwargs)

    def _init_layers(self) -> None:
        self.cls_convs, self.reg_convs = nn.ModuleList(), nn.ModuleList()
        for i in range(self.stacked_convs):
            channels = self.in_channels if i == 0 else self.feat_channels
            self.cls_convs.append(ConvModule(channels, self.feat_channels, 3, padding=1))
            self.reg_convs.append(ConvModule(channels, self.feat_channels, 3, padding=1))
        self.retina_cls = nn.Conv2d(self.feat_channels,
                                    self.num_base_priors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = nn.Conv2d(self.feat_channels, self.num_base_priors * 4, 3, padding=1)

    def forward_single(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cls_feat = reg_feat = x
        for conv in self.cls_convs:
            cls_feat = conv(cls_feat)
        for conv in self.reg_convs:
            reg_feat = conv(reg_feat)
        return self.retina_cls(cls_feat), self.retina_reg(reg_feat)
# ------------------------------------------------------------------------------------------


def _detector():
    init_default_scope('segdet')
    torch.manual_seed(0)
    cfg = dict(
        type='SingleStageDetector',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[128.0] * 3, std=[64.0] * 3,
                               bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(1, 2, 3),
                      norm_cfg=dict(type='BN'), zero_init_residual=False),
        neck=dict(type='FPN', in_channels=[32, 64, 128], out_channels=32, num_outs=3),
        bbox_head=dict(
            type=TinyRetinaHead, num_classes=3, in_channels=32, feat_channels=32,
            anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                  scales_per_octave=2, ratios=[0.5, 1.0, 2.0],
                                  strides=[8, 16, 32]),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0),
            # RetinaNet's prior: every anchor starts at foreground probability 0.01
            init_cfg=dict(type='Normal', layer='Conv2d', std=0.01,
                          override=dict(type='Normal', name='retina_cls', std=0.01,
                                        bias_prob=0.01))),
        train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                     min_pos_iou=0, ignore_iof_thr=-1),
                       sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1),
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.0,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=10))
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_the_subclass_is_about_40_lines():
    import inspect
    lines = inspect.getsource(TinyRetinaHead).strip().splitlines()
    assert len(lines) <= 40


def test_retina_style_head_trains_and_predicts_in_a_single_stage_detector():
    model = _detector()
    keys = set(model.state_dict())
    assert {'bbox_head.cls_convs.0.conv.weight', 'bbox_head.reg_convs.1.conv.bias',
            'bbox_head.retina_cls.weight', 'bbox_head.retina_reg.bias'} <= keys
    assert model.bbox_head.retina_cls.out_channels == 6 * 3  # 6 anchors x 3 classes
    data = [box_sample(96, 128, [[10, 10, 50, 60], [70, 20, 120, 80]], [0, 2], seed=0),
            box_sample(128, 96, [[20, 30, 70, 90]], [1], seed=1)]
    batch = dict(inputs=[d[0] for d in data], data_samples=[d[1] for d in data])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    history = []
    for step in range(8):
        losses = model(**model.data_preprocessor(batch, True), mode='loss')
        assert set(losses) == {'loss_cls', 'loss_bbox'}
        optimizer.zero_grad()
        sum(losses.values()).backward()
        if step == 0:  # both branches and both predictors learn from the losses
            for name in ('cls_convs.0.conv', 'reg_convs.1.conv', 'retina_cls', 'retina_reg'):
                grad = model.bbox_head.get_submodule(name).weight.grad
                assert grad is not None and grad.abs().sum() > 0, name
        optimizer.step()
        history.append({k: float(v.detach()) for k, v in losses.items()})
    # plain sigmoid CE averaged over the few positives: the many easy negatives keep the
    # classification loss high, but both losses fall step by step
    assert all(b['loss_cls'] < a['loss_cls'] for a, b in zip(history, history[1:]))
    assert history[-1]['loss_bbox'] < 0.8 * history[0]['loss_bbox']

    model.eval()
    img, sample = box_sample(64, 96, [[10, 10, 40, 40]], [1], scale=0.5)
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
    pred = model(**data, mode='predict')[0].pred_instances
    n = len(pred)
    assert 0 < n <= 10
    assert pred.bboxes.shape == (n, 4) and pred.labels.dtype == torch.long
    assert float(pred.bboxes[:, 2].max()) <= 192 + 1e-3  # original width 192
    assert bool((pred.scores[:-1] >= pred.scores[1:]).all())
    cls_scores, bbox_preds = model(data['inputs'], mode='tensor')
    assert [tuple(c.shape[-2:]) for c in cls_scores] == [(8, 12), (4, 6), (2, 3)]


def test_single_stage_detector_needs_a_head():
    init_default_scope('segdet')
    with pytest.raises(ValueError, match='needs a bbox_head'):
        MODELS.build(dict(type='SingleStageDetector', backbone=dict(type='ResNet', depth=18)))
