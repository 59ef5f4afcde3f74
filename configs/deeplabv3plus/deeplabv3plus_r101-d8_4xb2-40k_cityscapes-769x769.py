# As deeplabv3plus_r50-d8_4xb2-40k_cityscapes-769x769, with a ResNet-101-V1c-D8 backbone.
_base_ = './deeplabv3plus_r50-d8_4xb2-40k_cityscapes-769x769.py'
# ImageNet init (mmseg: open-mmlab://resnet101_v1c): set pretrained to a local file.
model = dict(backbone=dict(depth=101))
