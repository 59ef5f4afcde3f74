# Demo: Fast-SCNN (learning to downsample, global feature extractor with pyramid pooling,
# feature fusion), the real-time companion of deeplabv3plus_r18b_1xb8-1500_shapes-128x128,
# trained from scratch on the synthetic "shapes" data (Cityscapes-style tree, 4 classes,
# 128x128). mmsegmentation's Fast-SCNN widths (1.4 M parameters) at the strides that suit
# 128x128 images: learning to downsample ends at stride 4 instead of 8 (its last separable
# conv has stride 1: the same parameters) and the global feature extractor at stride 16 (a
# 32x32 fused map and an 8x8 global one). The stride-8 original blurs the triangles' corners
# and stays near 84.5 mIoU here. A depthwise-separable FCN head on the fused map and one
# auxiliary FCN head (loss weight 1) on the global features, which must tell circles,
# rectangles and triangles apart. 1500 iterations of 8; configs/demo/README.md records the
# mIoU it reaches, how long it takes with and without --amp, and the variants tried.
# Generate the data with
#   python tools/misc/make_shapes_data.py --root data/shapes
_base_ = ['../_base_/datasets/shapes.py', '../_base_/default_runtime.py']

crop_size = (128, 128)
data_root = 'data/shapes'
num_classes = 4
norm_cfg = dict(type='BN', requires_grad=True)

data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='FastSCNN',
        downsample_dw_channels=(32, 48),
        global_in_channels=64,
        global_block_channels=(64, 96, 128),
        downsample_strides=(2, 2, 1),  # mmseg: (2, 2, 2)
        global_out_channels=128,
        higher_in_channels=64,
        lower_in_channels=128,
        fusion_out_channels=128,
        global_block_strides=(2, 2, 1),
        out_indices=(0, 1, 2),
        norm_cfg=norm_cfg,
        align_corners=False),
    decode_head=dict(
        type='DepthwiseSeparableFCNHead',
        in_channels=128,
        channels=128,
        concat_input=False,
        dropout_ratio=0.0,
        num_classes=num_classes,
        in_index=-1,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        # on the global feature extractor's output (stride 16: 8x8 for a 128x128 image)
        type='FCNHead',
        in_channels=128,
        channels=32,
        num_convs=1,
        num_classes=num_classes,
        in_index=-2,
        concat_input=False,
        dropout_ratio=0.0,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# the shapes data of _base_/datasets/shapes.py, validated 16 images at a time
val_dataloader = dict(batch_size=16)
test_dataloader = dict(batch_size=16)

max_iters = 1500
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=8e-3, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=30, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False)
