_base_ = './mask-rcnn_r50_fpn_1x_coco.py'
# Mixed precision: fp16 autocast + dynamic loss scaling on CUDA, bf16 autocast on CPUs with
# native bf16 (segdet's AmpOptimWrapper); losses and box/mask post-processing stay fp32.
optim_wrapper = dict(type='AmpOptimWrapper')
