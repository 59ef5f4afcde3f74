# PointRend, ResNet-50-V1c + FPN, Cityscapes 512x1024 crops, 80k iterations, 4 GPUs x 2 images;
# the learning rate warms up linearly over the first 200 iterations, then decays (poly).
_base_ = [
    '../_base_/models/pointrend_r50.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
param_scheduler = [
    dict(type='LinearLR', by_epoch=False, start_factor=0.1, begin=0, end=200),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=200, end=80000, by_epoch=False)
]
