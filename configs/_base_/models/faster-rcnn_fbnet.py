# Faster R-CNN with an FBNet trunk (maskrcnn-benchmark's light-weight detectors, arch
# 'default'): the stride-16 trunk of inverted-residual (IRF) blocks, an RPN whose conv tower is
# the arch's RPN blocks, RoIs pooled to 6x6 and run through the arch's box blocks (the shared
# head, stride 2 -> 3x3), then average-pooled into a linear box head. Trained from scratch with
# trainable BN everywhere; no norm or ReLU after the depthwise convs (DW_CONV_SKIP_BN/RELU);
# widths rounded to multiples of 8 (WIDTH_DIVISOR). Another arch changes `arch` in the
# backbone, rpn_head and shared_head and the widths that follow from it (see configs/fbnet/).
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='FasterRCNN',
    # maskrcnn-benchmark's BGR 0-255 input with ImageNet mean and std.
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395],
        bgr_to_rgb=False, pad_size_divisor=32),
    backbone=dict(
        type='FBNet', arch='default', width_ratio=1.0, width_divisor=8, norm_cfg=norm_cfg,
        dw_skip_bn=True, dw_skip_relu=True),
    # 15 anchors per position: 5 sizes (32..512 px) x 3 aspect ratios, all at stride 16.
    rpn_head=dict(
        type='FBNetRPNHead', in_channels=96, arch='default', width_ratio=1.0, width_divisor=8,
        norm_cfg=norm_cfg, dw_skip_bn=True, dw_skip_relu=True,
        anchor_generator=dict(type='AnchorGenerator', scales=[2, 4, 8, 16, 32],
                              ratios=[0.5, 1.0, 2.0], strides=[16]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                        target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        shared_head=dict(
            type='FBNetHeadStage', in_channels=96, arch='default', part='bbox',
            width_ratio=1.0, width_divisor=8, norm_cfg=norm_cfg, dw_skip_bn=True,
            dw_skip_relu=True),
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=6, sampling_ratio=0),
            out_channels=96, featmap_strides=[16]),
        bbox_head=dict(
            type='BBoxHead', with_avg_pool=True, roi_feat_size=3, in_channels=240,
            num_classes=80,
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0],
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3,
                          min_pos_iou=0.3, match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=0, pos_weight=-1, debug=False),
        rpn_proposal=dict(nms_pre=6000, max_per_img=2000,
                          nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                          min_pos_iou=0.5, match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1, debug=False)),
    # 200 proposals per image at test time (the model zoo's POST_NMS_TOP_N_TEST).
    test_cfg=dict(
        rpn=dict(nms_pre=6000, max_per_img=200, nms=dict(type='nms', iou_threshold=0.7),
                 min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)))
