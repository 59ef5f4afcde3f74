_base_ = './mask-rcnn_fbnet-default_600_0.5x_coco.py'
# maskrcnn-benchmark's e2e_mask_rcnn_fbnet_xirb16d_dsmask_600.yaml (model zoo row
# "fbnet_xirb16d, Mask, 600, 0.5x"): arch 'xirb16d_dsmask' (trunk 128 channels, box head 160;
# mask blocks 6x6 -> 3x3 -> 6x6 -> 12x12 with 64 channels); otherwise as fbnet-default.
arch = 'xirb16d_dsmask'
model = dict(
    backbone=dict(arch=arch),
    rpn_head=dict(arch=arch, in_channels=128),
    roi_head=dict(
        shared_head=dict(arch=arch, in_channels=128),
        bbox_roi_extractor=dict(out_channels=128),
        bbox_head=dict(in_channels=160),
        mask_roi_extractor=dict(out_channels=128),
        mask_head=dict(arch=arch, in_channels=128)))
