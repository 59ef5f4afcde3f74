# Mask R-CNN with an FBNet trunk (arch 'default'): the Faster R-CNN of faster-rcnn_fbnet.py plus
# a mask branch with its own 6x6 RoI features (not the box branch's shared head) and the arch's
# mask blocks, whose last block upsamples x2; a 1x1 conv gives 12x12 masks per class.
_base_ = './faster-rcnn_fbnet.py'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='MaskRCNN',
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        type='FBNetRoIHead',
        mask_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=6, sampling_ratio=0),
            out_channels=96, featmap_strides=[16]),
        mask_head=dict(
            type='FBNetMaskHead', in_channels=96, roi_feat_size=6, arch='default',
            width_ratio=1.0, width_divisor=8, norm_cfg=norm_cfg, dw_skip_bn=True,
            dw_skip_relu=True, num_classes=80,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=12)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
