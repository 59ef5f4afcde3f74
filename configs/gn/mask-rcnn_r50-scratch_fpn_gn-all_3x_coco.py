_base_ = [
    '../_base_/models/mask-rcnn_r50_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_3x.py', '../_base_/det_runtime.py'
]
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
# Mask R-CNN trained from scratch with GN everywhere (Detectron GN "scratch" 3x): no
# pre-trained weights, no frozen stage, no zero-initialised residuals, no weight decay on the
# norm layers.
model = dict(
    backbone=dict(frozen_stages=-1, zero_init_residual=False, norm_cfg=norm_cfg,
                  init_cfg=None),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       norm_cfg=norm_cfg),
        mask_head=dict(norm_cfg=norm_cfg)))
optim_wrapper = dict(paramwise_cfg=dict(norm_decay_mult=0.))
