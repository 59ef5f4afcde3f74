# As ann_r50-d8_4xb4-40k_voc12aug-512x512, with a ResNet-101-V1c-D8 backbone.
# mmsegmentation 1.2.2's file of this name inherits the 20k R-50 file (20k iterations);
# this one trains the 40k its name says (README.md, "How these configs differ").
_base_ = './ann_r50-d8_4xb4-40k_voc12aug-512x512.py'
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
