_base_ = './mask-rcnn_r50-caffe_fpn_2x_coco.py'
# Detectron's R-50-FPN BN* baseline with the longer schedule of the GN page: 3x, 36 epochs,
# lr x0.1 at epochs 28 and 34.
max_epochs = 36
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[28, 34],
         gamma=0.1),
]
