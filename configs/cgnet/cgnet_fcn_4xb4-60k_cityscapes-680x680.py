# CGNet (M3N21) + FCN classifier, Cityscapes, 680x680 crops, 60k iterations. The name says 4
# GPUs x 4 images, but (as in mmsegmentation's file) 8 images per GPU are loaded.
# The 512x1024 config's recipe (Adam, poly decay) with square crops and no photometric
# distortion.
_base_ = ['./cgnet_fcn_4xb8-60k_cityscapes-512x1024.py']

crop_size = (680, 680)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    # Labels are loaded after Resize: metrics compare against the original-size label map.
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=8, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, num_workers=4, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
