# Demo: DeepLabV3+ on a plain ResNet-18 ("r18b": torchvision-style stem, output stride 32),
# trained from scratch on the synthetic "shapes" data (Cityscapes-style tree, 4 classes,
# 128x128). 1500 iterations of 8 images: about 18 minutes on a 2-core AVX2 CPU in fp32 (the
# model learns the shape classes after a few hundred iterations on the class prior); see
# configs/demo/README.md for what it reaches and how long it takes. Generate the data with
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
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        zero_init_residual=False),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=512,
        in_index=3,
        channels=128,
        # The stride-32 map of a 128x128 image is 4x4: larger rates would only see padding.
        dilations=(1, 2, 3, 4),
        c1_in_channels=64,
        c1_channels=48,
        dropout_ratio=0.0,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

max_iters = 1500
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=0.01))
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
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500),
    sampler_seed=dict(type='DistSamplerSeedHook'))
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False)
