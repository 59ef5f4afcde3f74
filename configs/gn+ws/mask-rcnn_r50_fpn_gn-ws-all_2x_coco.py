_base_ = [
    '../_base_/models/mask-rcnn_r50_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_2x.py', '../_base_/det_runtime.py'
]
conv_cfg = dict(type='ConvWS')
norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
# Weight-standardised convs + GN in the backbone, the FPN, the 4conv1fc box head and the mask
# head.
# Pre-trained weights: mmdetection starts from open-mmlab://jhu/resnet50_gn_ws.
# segdet never downloads at run time, so init_cfg is None (random init); to start from a
# local copy: --cfg-options model.backbone.pretrained=checkpoints/<file>.pth (docs/config.md).
model = dict(
    backbone=dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                  init_cfg=None),
    neck=dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256,
                       conv_cfg=conv_cfg, norm_cfg=norm_cfg),
        mask_head=dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)))
