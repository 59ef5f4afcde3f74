# UPerNet, ResNet-18-V1c, ADE20K, 512x512 crops, 80k iterations, 4 GPUs x 4 images.
# ResNet-18 stages have 64-512 channels (basic blocks), so both heads read narrower maps.
# mmsegmentation 1.2.2's file sets no data_preprocessor size here (its R-50 twin does);
# segdet pads batches to the crop size as the name says (see README.md).
_base_ = [
    '../_base_/models/upernet_r50.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=[64, 128, 256, 512], num_classes=150),
    auxiliary_head=dict(in_channels=256, num_classes=150))
