_base_ = './mask-rcnn_r50_fpn_gn-all_2x_coco.py'
# ImageNet weights as in mmdetection (found or downloaded: docs/model_zoo.md).
model = dict(
    backbone=dict(depth=101,
                  init_cfg=dict(type='Pretrained',
                                checkpoint='open-mmlab://detectron/resnet101_gn')))
