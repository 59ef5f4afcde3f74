_base_ = './mask-rcnn_r50-caffe_fpn_2x_coco.py'
# The BN* counterpart of the GN models' box head (Detectron's GN page): four 3x3 convolutions
# and one fully connected layer (Shared4Conv1FCBBoxHead) instead of two fully connected layers,
# without normalisation (the frozen-BN recipe has none in its heads).
model = dict(
    roi_head=dict(bbox_head=dict(type='Shared4Conv1FCBBoxHead', conv_out_channels=256)))
