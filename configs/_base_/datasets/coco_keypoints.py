# COCO 2017 person keypoints (boxes and 17 keypoints of each person):
# data/coco/{train2017,val2017,annotations/person_keypoints_*2017.json}. One class, 'person';
# the metainfo gives the keypoint names, the skeleton, the left/right pairs that RandomFlip
# swaps and the OKS sigmas of COCO's keypoint challenge (CocoDataset fills them from the json
# and segdet.datasets.coco_keypoints). Training as maskrcnn-benchmark's keypoint recipe: the
# short side drawn from 640..800 (long side <= 1333), flipped half of the time, images with
# fewer than 10 labelled keypoints dropped. Evaluation: COCO box AP and keypoint AP (OKS).
dataset_type = 'CocoDataset'
data_root = 'data/coco/'
backend_args = None
metainfo = dict(classes=('person', ), palette=[(220, 20, 60)])

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_keypoints=True),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(640, 801, 32)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_keypoints=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# tools/test.py --tta: the image and its mirror; keypoints of the mirror are mapped back with
# left and right swapped (flip_indices), then the views' detections pooled and re-NMSed.
tta_model = dict(
    type='DetTTAModel',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
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
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file='annotations/person_keypoints_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32, min_keypoints=10),
        pipeline=train_pipeline, backend_args=backend_args))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file='annotations/person_keypoints_val2017.json', data_prefix=dict(img='val2017/'),
        test_mode=True, pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric', ann_file=data_root + 'annotations/person_keypoints_val2017.json',
    metric=['bbox', 'keypoints'], format_only=False, backend_args=backend_args)
test_evaluator = val_evaluator
