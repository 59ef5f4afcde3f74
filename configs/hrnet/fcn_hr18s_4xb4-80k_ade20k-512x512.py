# As fcn_hr18_4xb4-80k_ade20k-512x512, with HRNetV2p-W18-Small (fewer blocks and modules).
_base_ = './fcn_hr18_4xb4-80k_ade20k-512x512.py'
model = dict(
    pretrained='open-mmlab://msra/hrnetv2_w18_small',
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(2, )),
            stage2=dict(num_blocks=(2, 2)),
            stage3=dict(num_modules=3, num_blocks=(2, 2, 2)),
            stage4=dict(num_modules=2, num_blocks=(2, 2, 2, 2)))))
