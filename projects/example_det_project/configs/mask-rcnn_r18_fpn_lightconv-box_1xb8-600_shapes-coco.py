# The example detection project's model on the shapes COCO data: segdet's demo Mask R-CNN with
# the project's light conv box head in place of the 256-d Shared2FC head. Run from the
# repository root (see ../README.md):
#   python tools/train.py projects/example_det_project/configs/mask-rcnn_r18_fpn_lightconv-box_1xb8-600_shapes-coco.py
_base_ = ['../../../configs/demo/mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py']
custom_imports = dict(imports=['projects.example_det_project.light_det'],
                      allow_failed_imports=False)
model = dict(
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='LightConvBBoxHead',
            in_channels={{_base_.fpn_channels}},
            roi_feat_size=7,
            num_convs=2,
            conv_out_channels=32,
            num_classes={{_base_.num_classes}},
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                            target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
