# PSANet, ResNet-50-V1c-D8, ADE20K, 512x512 crops, 160k iterations.
_base_ = [
    '../_base_/models/psanet_r50-d8.py', '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_160k.py'
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    # 512x512 crops: a 64x64 map, shrunk to 32x32; the 66x66 window covers it from any pixel.
    decode_head=dict(mask_size=(66, 66), num_classes=150),
    auxiliary_head=dict(num_classes=150))
