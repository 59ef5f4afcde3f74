# FCN, MobileNetV2-D8 (widen factor 1.0, output stride 8), ADE20K, 512x512 crops,
# 160k iterations, 4 GPUs x 4 images. mmseg's file inherits
# fcn_r101-d8_4xb4-160k_ade20k-512x512, which segdet does not ship; this one starts
# from the same bases and resolves to the same config.
_base_ = [
    '../_base_/models/fcn_r50-d8.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='mmcls://mobilenet_v2',
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=320, num_classes=150),
    auxiliary_head=dict(in_channels=96, num_classes=150))
