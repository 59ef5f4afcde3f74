# UPerNet, ResNet-18-V1c, Cityscapes, 512x1024 crops, 80k iterations, 4 GPUs x 2 images.
# ResNet-18 stages have 64-512 channels (basic blocks), so both heads read narrower maps.
_base_ = './upernet_r50_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=[64, 128, 256, 512]),
    auxiliary_head=dict(in_channels=256))
