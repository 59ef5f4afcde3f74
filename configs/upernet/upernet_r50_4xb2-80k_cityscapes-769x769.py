# UPerNet, ResNet-50-V1c, Cityscapes, 769x769 crops, 80k iterations, 4 GPUs x 2 images.
_base_ = [
    '../_base_/models/upernet_r50.py', '../_base_/datasets/cityscapes_769x769.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (769, 769)
data_preprocessor = dict(size=crop_size)
# 769 = 32 * 24 + 1: with align_corners=True the feature grids land on pixels.
# Testing slides 769x769 windows, 513 pixels apart, over the ~1025x2049 image.
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(align_corners=True),
    auxiliary_head=dict(align_corners=True),
    test_cfg=dict(mode='slide', crop_size=(769, 769), stride=(513, 513)))
