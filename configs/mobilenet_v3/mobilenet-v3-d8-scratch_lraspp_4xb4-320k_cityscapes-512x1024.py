# LR-ASPP, MobileNetV3-large-D8 trained from scratch (no ImageNet weights), Cityscapes,
# 512x1024 crops, 4 GPUs x 4 images, 320k iterations.
# mmsegmentation 1.2.2's file of this name keeps the 160k schedule (its `runner` key is no
# longer read); this one trains the 320k its name and the published numbers say
# (README.md, "How these configs differ").
_base_ = [
    '../_base_/models/lraspp_m-v3-d8.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=4, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=320000, by_epoch=False)
]
train_cfg = dict(max_iters=320000)
