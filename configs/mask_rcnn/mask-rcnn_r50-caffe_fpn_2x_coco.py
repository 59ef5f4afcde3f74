_base_ = [
    '../_base_/models/mask-rcnn_r50_fpn.py', '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_2x.py', '../_base_/det_runtime.py'
]
# Detectron's "R-50-FPN, BN*" Mask R-CNN baseline at 2x (the GN page's BN table): Caffe-style
# ResNet-50 with MSRA's Caffe2 ImageNet weights, BN frozen into a per-channel affine map
# (BN*), BGR input with mean subtraction only, the 2fc box head; 24 epochs.
# ImageNet weights as in mmdetection (found or downloaded: docs/model_zoo.md).
model = dict(
    data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0],
                           bgr_to_rgb=False),
    backbone=dict(
        norm_cfg=dict(requires_grad=False), style='caffe',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')))
