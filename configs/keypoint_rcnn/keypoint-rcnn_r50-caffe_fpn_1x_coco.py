_base_ = [
    '../_base_/models/keypoint-rcnn_r50_fpn.py', '../_base_/datasets/coco_keypoints.py',
    '../_base_/det_runtime.py'
]
# maskrcnn-benchmark's e2e_keypoint_rcnn_R_50_FPN_1x: MSRA's Caffe-style R-50 (BGR input, mean
# subtraction only, frozen BN), RoIAlign with 2 samples per bin for boxes and keypoints, and
# Detectron's "1x" for keypoints: 90k iterations of 16 images (SGD 0.02, steps at 60k and 80k,
# 500 linear warm-up iterations from a third of the rate).
model = dict(
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False, pad_size_divisor=32),
    backbone=dict(
        norm_cfg=dict(requires_grad=False), norm_eval=True, style='caffe',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    roi_head=dict(bbox_roi_extractor=dict(roi_layer=dict(sampling_ratio=2))),
    train_cfg=dict(rpn_proposal=dict(nms_pre=2000, max_per_img=1000)),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=1000)))

train_cfg = dict(type='IterBasedTrainLoop', max_iters=90000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=90000, by_epoch=False, milestones=[60000, 80000],
         gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
# lr above is for 16 images per iteration (8 GPUs x 2); `auto_scale_lr.enable=True` rescales.
auto_scale_lr = dict(enable=False, base_batch_size=16)
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10000, max_keep_ckpts=3,
                    save_best='coco/keypoints_mAP', rule='greater', save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))
log_processor = dict(by_epoch=False)
