_base_ = './mask-rcnn_r50_fpn_1x_coco.py'
# ImageNet weights as in mmdetection (found or downloaded: docs/model_zoo.md).
model = dict(
    backbone=dict(depth=101,
                  init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
