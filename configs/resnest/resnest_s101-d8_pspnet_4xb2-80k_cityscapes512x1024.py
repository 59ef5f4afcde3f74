# As pspnet_r101-d8_4xb2-80k_cityscapes-512x1024, with a ResNeSt-101 (S-101-D8) backbone.
# The file name lacks the '-' before the crop size as in mmsegmentation 1.2.2 (kept so that
# its name finds this file).
_base_ = '../pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    pretrained='open-mmlab://resnest101',
    backbone=dict(
        type='ResNeSt',
        stem_channels=128,
        radix=2,
        reduction_factor=4,
        avg_down_stride=True))
