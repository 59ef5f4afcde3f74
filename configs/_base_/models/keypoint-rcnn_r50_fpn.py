# Keypoint R-CNN with a ResNet-50 + FPN backbone: Faster R-CNN (one class, 'person') plus a
# keypoint branch on its own 14x14 RoI features: eight 3x3-512 convs with ReLU, a stride-2
# transposed conv to 17 channels and x2 bilinear upsampling to 56x56 heatmaps, one spatial
# softmax cross-entropy per labelled keypoint (He et al. 2017; maskrcnn-benchmark's
# KeypointRCNNFeatureExtractor / KeypointRCNNPredictor).
_base_ = './faster-rcnn_r50_fpn.py'
model = dict(
    type='KeypointRCNN',
    roi_head=dict(
        type='KeypointRoIHead',
        bbox_head=dict(num_classes=1),
        keypoint_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2),
            out_channels=256, featmap_strides=[4, 8, 16, 32]),
        keypoint_head=dict(
            type='KeypointRCNNHead', num_keypoints=17, num_convs=8, in_channels=256,
            conv_out_channels=512, conv_kernel_size=3, deconv_kernel_size=4,
            upsample_scale=2, loss_weight=1.0)))
