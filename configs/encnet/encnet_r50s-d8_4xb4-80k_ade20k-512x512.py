# EncNet, ResNet-50-V1c-D8 with a 128-channel stem ("R-50s"), ADE20K, 512x512 crops,
# 80k iterations. The stem convs and layer1's first block are wider than the ImageNet
# ResNet-50-V1c's: those tensors are skipped when the weights load (logged), as in mmseg.
_base_ = [
    '../_base_/models/encnet_r50-d8.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(stem_channels=128),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150))
