_base_ = './mask-rcnn_r50_fpn_gn-ws-all_2x_coco.py'
# Pre-trained weights: mmdetection starts from open-mmlab://jhu/resnet101_gn_ws.
# segdet never downloads at run time, so init_cfg is None (random init); to start from a
# local copy: --cfg-options model.backbone.pretrained=checkpoints/<file>.pth (docs/config.md).
model = dict(
    backbone=dict(depth=101,
                  init_cfg=None))
