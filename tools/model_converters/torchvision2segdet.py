"""Convert a torchvision detection checkpoint into a segdet checkpoint for a config.

    python tools/model_converters/torchvision2segdet.py SRC DST --config CONFIG

SRC: a state dict of ``torchvision.models.detection.fasterrcnn_resnet50_fpn`` or
``maskrcnn_resnet50_fpn`` (e.g. torchvision's ``maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth``, or
``torch.save(model.state_dict(), ...)``). CONFIG: a Faster / Mask R-CNN R-50-FPN config;
``configs/mask_rcnn/mask-rcnn_r50_fpn_torchvision-compat_1x_coco.py`` reproduces
torchvision's inference (tools/model_converters/README.md). ``keypointrcnn_resnet50_fpn`` will
follow once segdet has Keypoint R-CNN.
"""
import sys

from segdet.model_converters.cli import main

if __name__ == '__main__':
    sys.exit(main('torchvision'))
