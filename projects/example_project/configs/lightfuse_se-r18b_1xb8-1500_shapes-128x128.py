# The example project's model on the demo data: segdet's demo config with the project's
# SE-gated ResNet-18 and light fusion head. Run from the repository root:
#   python tools/train.py projects/example_project/configs/lightfuse_se-r18b_1xb8-1500_shapes-128x128.py
_base_ = ['../../../configs/demo/deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py']
custom_imports = dict(imports=['projects.example_project.example_pkg'],
                      allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(type='SEResNet', se_ratio=4),
    decode_head=dict(
        _delete_=True,
        type='LightFuseHead',
        in_channels=512,
        in_index=3,
        low_index=0,
        low_in_channels=64,
        low_channels=16,
        channels=64,
        dropout_ratio=0.0,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
