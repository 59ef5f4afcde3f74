_base_ = [
    '../_base_/models/mask-rcnn_r50_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_2x.py', '../_base_/det_runtime.py'
]
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
# GN in the backbone, the FPN, a 4conv1fc box head and the mask head (the Detectron GN recipe).
# ImageNet weights as in mmdetection (found or downloaded: docs/model_zoo.md).
model = dict(
    data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0],
                           bgr_to_rgb=False),
    backbone=dict(norm_cfg=norm_cfg,
                  init_cfg=dict(type='Pretrained',
                                checkpoint='open-mmlab://detectron/resnet50_gn')),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
