_base_ = './mask-rcnn_r50-scratch_fpn_gn-all_3x_coco.py'
# Detectron GN's "R-101-FPN, GN, scratch" 3x row: the R-50 scratch recipe with a ResNet-101.
model = dict(backbone=dict(depth=101))
