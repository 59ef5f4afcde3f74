# PSANet, ResNet-50-V1c-D8, Cityscapes, 512x1024 crops, 40k iterations.
_base_ = [
    '../_base_/models/psanet_r50-d8.py', '../_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_40k.py'
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
