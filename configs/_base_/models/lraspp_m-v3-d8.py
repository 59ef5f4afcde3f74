# LR-ASPP on a MobileNetV3-large at output stride 8 (dilated last stages), 19 Cityscapes
# classes. No pretrained weights here, as in mmsegmentation: the experiment files that start
# from ImageNet set model.pretrained. BN eps 1e-3 as the TensorFlow-trained weights expect;
# SyncBN as in mmsegmentation, segdet's tools turn it into BN when not launched distributed.
norm_cfg = dict(type='SyncBN', eps=0.001, requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    # layer1 (stride 2, 16 ch), layer3 (stride 4, 24 ch), layer16 (stride 8, 960 ch)
    backbone=dict(
        type='MobileNetV3',
        arch='large',
        out_indices=(1, 3, 16),
        norm_cfg=norm_cfg),
    # Sigmoid-gated 1x1 projection of the deepest map, refined with skips from the two
    # shallower maps; logits at stride 2.
    decode_head=dict(
        type='LRASPPHead',
        in_channels=(16, 24, 960),
        in_index=(0, 1, 2),
        channels=128,
        input_transform='multiple_select',
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
