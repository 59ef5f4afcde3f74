_base_ = './mask-rcnn_r50-caffe_fpn_2x_coco.py'
# Detectron's "R-101-FPN, BN*" Mask R-CNN baseline at 2x.
# ImageNet weights as in mmdetection (found or downloaded: docs/model_zoo.md).
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
