# ANN, ResNet-50-V1c-D8, Cityscapes, 769x769 crops, 80k iterations.
_base_ = [
    '../_base_/models/ann_r50-d8.py', '../_base_/datasets/cityscapes_769x769.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (769, 769)
data_preprocessor = dict(size=crop_size)
# 769 = 8 * 96 + 1: with align_corners=True the stride-8 feature grid lands on pixels.
# Testing slides 769x769 windows, 513 pixels apart, over the ~1025x2049 image.
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(align_corners=True),
    auxiliary_head=dict(align_corners=True),
    test_cfg=dict(mode='slide', crop_size=(769, 769), stride=(513, 513)))
