"""Convert Detectron (Caffe2) weights into a segdet checkpoint for a config.

    python tools/model_converters/detectron2segdet.py SRC DST --config CONFIG

SRC: a Detectron ``.pkl``: a detector (``model_final.pkl`` of the GN Mask R-CNN models, e.g.
``e2e_mask_rcnn_R-50-FPN_2x_gn``) or an ImageNet backbone (``R-50-GN.pkl``, ``R-101-GN.pkl``),
which becomes a backbone checkpoint for ``model.backbone.init_cfg``. CONFIG: the segdet config
of the same model (tools/model_converters/README.md).
"""
import sys

from segdet.model_converters.cli import main

if __name__ == '__main__':
    sys.exit(main('detectron'))
