# As fpn_r50_4xb4-160k_ade20k-512x512, with a ResNet-101-V1c backbone.
# (mmsegmentation 1.2.2's file of this name builds a ResNet-50: see README.md.)
_base_ = './fpn_r50_4xb4-160k_ade20k-512x512.py'
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101))
