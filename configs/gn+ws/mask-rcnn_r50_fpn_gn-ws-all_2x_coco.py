_base_ = [
    '../_base_/models/mask-rcnn_r50_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_2x.py', '../_base_/det_runtime.py'
]
conv_cfg = dict(type='ConvWS')
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
# Weight-standardised convs + GN in the backbone, the FPN, the 4conv1fc box head and the mask
# head.
# ImageNet weights as in mmdetection (found or downloaded: docs/model_zoo.md).
model = dict(
    backbone=dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                  init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://jhu/resnet50_gn_ws')),
    neck=dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg),
        mask_head=dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)))
