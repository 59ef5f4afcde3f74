# Mixed precision: as deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024 with segdet's AmpOptimWrapper
# (fp16 autocast on CUDA with a fixed loss scale of 512, as mmseg's published fp16 run; bf16 on a
# CPU with native bf16). Same as passing --amp to tools/train.py, except for the fixed scale.
# mmseg 1.2.2's file inherits the 40k config (80k in its name and in mmseg 0.x's published run):
# this one trains 80k iterations (README, "How these configs differ").
_base_ = './deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024.py'
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=optimizer,
    loss_scale=512.)
