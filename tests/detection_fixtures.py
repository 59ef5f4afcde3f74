"""Tiny Faster / Mask R-CNN configs and synthetic samples for CPU tests."""
import copy
from pathlib import Path

import torch
from mmengine.structures import InstanceData

from segdet.structures import DataSample

REPO_CONFIGS = Path(__file__).resolve().parents[1] / 'configs'


def tiny_two_stage_cfg(with_mask: bool = True, num_classes: int = 3) -> dict:
    """A ResNet-18 + FPN(32) Mask R-CNN with small sampling budgets (seconds per step)."""
    cfg = dict(
        type='MaskRCNN' if with_mask else 'FasterRCNN',
        data_preprocessor=dict(type='DetDataPreprocessor', mean=[128.0] * 3, std=[64.0] * 3,
                               bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(0, 1, 2, 3),
                      norm_cfg=dict(type='BN'), zero_init_residual=False),
        neck=dict(type='FPN', in_channels=[16, 32, 64, 128], out_channels=32, num_outs=5),
        rpn_head=dict(
            type='RPNHead', in_channels=32, feat_channels=32,
            anchor_generator=dict(type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0],
                                  strides=[4, 8, 16, 32, 64]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                            target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        roi_head=dict(
            type='StandardRoIHead',
            bbox_roi_extractor=dict(type='SingleRoIExtractor',
                                    roi_layer=dict(type='RoIAlign', output_size=7,
                                                   sampling_ratio=0),
                                    out_channels=32, featmap_strides=[4, 8, 16, 32]),
            bbox_head=dict(type='Shared2FCBBoxHead', in_channels=32, fc_out_channels=64,
                           roi_feat_size=7, num_classes=num_classes,
                           bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                           target_stds=[0.1, 0.1, 0.2, 0.2]),
                           loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
                           loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                                   min_pos_iou=0.3, match_low_quality=True),
                     sampler=dict(type='RandomSampler', num=64, pos_fraction=0.5,
                                  add_gt_as_proposals=False),
                     allowed_border=-1, pos_weight=-1),
            rpn_proposal=dict(nms_pre=200, max_per_img=100,
                              nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
            rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                                    min_pos_iou=0.5, match_low_quality=True),
                      sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25,
                                   add_gt_as_proposals=True),
                      mask_size=28, pos_weight=-1)),
        test_cfg=dict(
            rpn=dict(nms_pre=200, max_per_img=100, nms=dict(type='nms', iou_threshold=0.7),
                     min_bbox_size=0),
            rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=20, mask_thr_binary=0.5)))
    if with_mask:
        cfg['roi_head']['mask_roi_extractor'] = dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=32, featmap_strides=[4, 8, 16, 32])
        cfg['roi_head']['mask_head'] = dict(
            type='FCNMaskHead', num_convs=2, in_channels=32, conv_out_channels=32,
            num_classes=num_classes,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
    return copy.deepcopy(cfg)


def box_sample(h: int, w: int, boxes: list, labels: list, scale: float = 1.0,
               seed: int = 0) -> tuple[torch.Tensor, DataSample]:
    """A uint8 image with filled rectangles at ``boxes`` and its sample (masks = the boxes)."""
    g = torch.Generator().manual_seed(seed)
    img = (torch.rand(3, h, w, generator=g) * 60).to(torch.uint8)
    masks = torch.zeros((len(boxes), h, w), dtype=torch.uint8)
    colours = [(250, 30, 30), (30, 250, 30), (30, 30, 250)]
    for i, ((x1, y1, x2, y2), lab) in enumerate(zip(boxes, labels)):
        img[:, y1:y2, x1:x2] = torch.tensor(colours[lab % 3], dtype=torch.uint8)[:, None, None]
        masks[i, y1:y2, x1:x2] = 1
    sample = DataSample(metainfo=dict(img_shape=(h, w), ori_shape=(round(h / scale),
                                                                    round(w / scale)),
                                      scale_factor=(scale, scale), img_id=seed))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).view(-1, 4),
        labels=torch.tensor(labels, dtype=torch.long), masks=masks)
    return img, sample
