# DeepLabV3, ResNeSt-101 (S-101-D8), ADE20K, 512x512 crops, 160k iterations, 4 GPUs x 4 images.
# mmsegmentation's file inherits deeplabv3_r101-d8_4xb4-160k_ade20k-512x512, which segdet does not
# ship; this one states the same content on the bases.
_base_ = [
    '../_base_/models/deeplabv3_r50-d8.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnest101',
    backbone=dict(
        type='ResNeSt',
        depth=101,
        stem_channels=128,
        radix=2,
        reduction_factor=4,
        avg_down_stride=True),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
