_base_ = './faster-rcnn_fbnet-default_600_0.5x_coco.py'
# maskrcnn-benchmark's e2e_faster_rcnn_fbnet_chamv1a_600.yaml (model zoo row "fbnet_chamv1a,
# Fast, 600, 0.75x"): arch 'cham_v1a' (trunk 88 channels, box head 104), 128 sampled RoIs per
# image, 12 images per GPU on 8 GPUs (96 per iteration), 135k iterations (0.75 x 180k) of SGD
# at 0.045 with steps at 90k and 120k; otherwise as fbnet-default.
arch = 'cham_v1a'
model = dict(
    backbone=dict(arch=arch),
    rpn_head=dict(arch=arch, in_channels=88),
    roi_head=dict(
        shared_head=dict(arch=arch, in_channels=88),
        bbox_roi_extractor=dict(out_channels=88),
        bbox_head=dict(in_channels=104)),
    train_cfg=dict(rcnn=dict(sampler=dict(num=128))))
train_dataloader = dict(batch_size=12)
train_cfg = dict(max_iters=135000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=135000, by_epoch=False, milestones=[90000, 120000],
         gamma=0.1),
]
optim_wrapper = dict(optimizer=dict(lr=0.045))
# lr above is for 96 images per iteration (8 GPUs x 12).
auto_scale_lr = dict(base_batch_size=96)
