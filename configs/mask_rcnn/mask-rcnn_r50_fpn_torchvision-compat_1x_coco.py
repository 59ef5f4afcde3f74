_base_ = './mask-rcnn_r50_fpn_1x_coco.py'
# torchvision's maskrcnn_resnet50_fpn at test time, for its weights converted with
# tools/model_converters/torchvision2segdet.py (see tools/model_converters/README.md). The
# network, the RGB mean/std input normalisation, the 800/1333 resizing rule, the padding to
# multiples of 32 and the box coder weights (10, 10, 5, 5) = target_stds (0.1, 0.1, 0.2, 0.2)
# are already the base's; what torchvision does differently:
# - FrozenBN: the BN scales and shifts are not trained either (requires_grad=False);
# - its anchors are rounded to whole pixels, and its strides computed from the padded input
#   (TorchvisionAnchorGenerator);
# - RoIAlign samples 2x2 points per bin without the half-pixel offset (aligned=False);
# - the RPN drops proposals smaller than 1e-3 pixels and keeps 2000 (not 1000) in training;
# - masks are pasted into the image Detectron's way (mask_paste='detectron').
model = dict(
    backbone=dict(norm_cfg=dict(requires_grad=False)),
    rpn_head=dict(anchor_generator=dict(type='TorchvisionAnchorGenerator')),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=7, sampling_ratio=2, aligned=False)),
        mask_roi_extractor=dict(
            roi_layer=dict(output_size=14, sampling_ratio=2, aligned=False))),
    train_cfg=dict(rpn_proposal=dict(nms_pre=2000, max_per_img=2000, min_bbox_size=1e-3)),
    test_cfg=dict(rpn=dict(min_bbox_size=1e-3), rcnn=dict(mask_paste='detectron')))
