# PSPNet, MobileNetV2-D8 (widen factor 1.0, output stride 8), ADE20K, 512x512 crops,
# 160k iterations, 4 GPUs x 4 images: pspnet_r101-d8_4xb4-160k_ade20k-512x512 with its
# ResNet replaced (ImageNet weights from mmcls) and the heads' input widths set to 320 / 96.
_base_ = '../pspnet/pspnet_r101-d8_4xb4-160k_ade20k-512x512.py'
model = dict(
    pretrained='mmcls://mobilenet_v2',
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(in_channels=320),
    auxiliary_head=dict(in_channels=96))
