# Demo: Keypoint R-CNN on a ResNet-18 + FPN trained from scratch on the synthetic "shapes" data
# in COCO keypoints format: one class, 'rectangle', with four keypoints, its corners (top left /
# top right and bottom right / bottom left: left/right pairs that RandomFlip swaps); circles
# and triangles stay in the 128x128 images as distractors. The Mask R-CNN demo's detector
# (half-width ResNet-18, 64-channel FPN, 256-d two-fc box head) with one class and, instead of
# its mask branch, a keypoint head of four 3x3-128 convs on 14x14 RoI features, upsampled to
# 56x56 heatmaps. Generate the data with
#   python tools/misc/make_shapes_data.py --format keypoints --root data/shapes_keypoints
# and train with
#   python tools/train.py configs/demo/keypoint-rcnn_r18_fpn_1xb8-1000_shapes-keypoints.py
# configs/demo/README.md records the keypoint AP it reaches and how long it takes.
_base_ = ['./mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py']

data_root = 'data/shapes_keypoints/'
classes = ('rectangle', )
num_classes = len(classes)
# the corners' left/right pairs and OKS sigmas of
# segdet.datasets.synthetic.coco_keypoints_writer (the json carries names and sides too)
metainfo = dict(classes=classes, palette=[(0, 0, 142)], flip_indices=[1, 0, 3, 2],
                sigmas=[0.05] * 4)
fpn_channels = 64

model = dict(
    type='KeypointRCNN',
    roi_head=dict(
        type='KeypointRoIHead',
        bbox_head=dict(num_classes=len(classes)),
        mask_roi_extractor=None,
        mask_head=None,
        keypoint_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=fpn_channels, featmap_strides=[4, 8, 16, 32]),
        keypoint_head=dict(
            type='KeypointRCNNHead', num_keypoints=4, num_convs=4, in_channels=fpn_channels,
            conv_out_channels=128, conv_kernel_size=3, deconv_kernel_size=4,
            upsample_scale=2, loss_weight=1.0)),
    train_cfg=dict(rcnn=dict(_delete_=True,
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5,
                      min_pos_iou=0.5, match_low_quality=True, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=64, pos_fraction=0.25, neg_pos_ub=-1,
                     add_gt_as_proposals=True),
        pos_weight=-1, debug=False)),
    test_cfg=dict(rcnn=dict(_delete_=True, score_thr=0.05,
                            nms=dict(type='nms', iou_threshold=0.5), max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_keypoints=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_keypoints=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# tools/test.py --tta: the image and its mirror, the mirror's keypoints mapped back with left
# and right swapped, detections pooled and re-NMSed.
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_keypoints=True),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
            [dict(type='PackDetInputs',
                  meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                             'flip', 'flip_direction', 'flip_indices'))],
        ]),
]
train_dataloader = dict(
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/rectangle_keypoints_train.json',
        # images without a rectangle have nothing to learn keypoints from
        filter_cfg=dict(filter_empty_gt=True, min_size=0, min_keypoints=1),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root, metainfo=metainfo,
        ann_file='annotations/rectangle_keypoints_val.json', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/rectangle_keypoints_val.json',
                     metric=['bbox', 'keypoints'])
test_evaluator = val_evaluator

max_iters = 1000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=100, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=250)
default_hooks = dict(
    checkpoint=dict(interval=250, save_best='coco/keypoints_mAP'))
