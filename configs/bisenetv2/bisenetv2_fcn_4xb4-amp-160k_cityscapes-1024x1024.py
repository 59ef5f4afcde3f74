# Mixed precision: as bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024 with segdet's AmpOptimWrapper
# (fp16 autocast on CUDA with a fixed loss scale of 512, as mmseg's published fp16 run; bf16 on a
# CPU with native bf16, fp32 with a warning on a CPU without). Same as passing --amp to
# tools/train.py, except for the fixed scale.
_base_ = './bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py'
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005),
    loss_scale=512.)
