_base_ = './faster-rcnn_r50_fpn_1x_coco.py'
# Caffe-style ResNet-50 (stride on the first 1x1 conv of a block) with MSRA's Caffe2 ImageNet
# weights: BGR input, mean subtraction only, BN frozen completely (scale and shift too).
# ImageNet weights as in mmdetection (found or downloaded: docs/model_zoo.md). The layout of
# maskrcnn-benchmark's and Detectron's R-50-FPN (tools/model_converters/README.md).
model = dict(
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False, pad_size_divisor=32),
    backbone=dict(
        norm_cfg=dict(requires_grad=False), norm_eval=True, style='caffe',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')))
