#!/usr/bin/env bash
# Remake the example pictures of docs/tools.md from the demo data and the demo checkpoints:
#   python tools/misc/make_shapes_data.py --root data/shapes
#   python tools/misc/make_shapes_data.py --format coco --root data/shapes_coco
#   python tools/train.py configs/demo/deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py
#   python tools/train.py configs/demo/mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py
#   docs/images/tools/make_pictures.sh SEG_CKPT DET_CKPT
# Each picture stacks what a tool wrote for the first three images (no choosing), stored as a
# 256-colour PNG to keep the repository small.
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 SEG_CKPT DET_CKPT (checkpoints of the two demo configs)" >&2
    exit 2
fi
SEG_CKPT=$1
DET_CKPT=$2
SEG_CFG=configs/demo/deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py
DET_CFG=configs/demo/mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py
OUT=docs/images/tools
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

python tools/analysis_tools/browse_dataset.py $SEG_CFG --output-dir "$TMP/browse_seg" --num 3
python tools/analysis_tools/browse_dataset.py $DET_CFG --output-dir "$TMP/browse_det" --num 3
python tools/test.py $SEG_CFG "$SEG_CKPT" --work-dir "$TMP/seg_test" --out "$TMP/seg_pred" \
    --show-dir "$TMP/seg_show"
python tools/test.py $DET_CFG "$DET_CKPT" --work-dir "$TMP/det_test" --out "$TMP/det_pred" \
    --show-dir "$TMP/det_show"
python tools/analysis_tools/confusion_matrix.py $SEG_CFG "$TMP/seg_pred" "$TMP/seg_cm"
python tools/analysis_tools/confusion_matrix.py $DET_CFG "$TMP/det_pred" "$TMP/det_cm"

python - "$TMP" "$OUT" <<'PY'
import glob
import os
import sys

import numpy as np
from PIL import Image

tmp, out = sys.argv[1:]
os.makedirs(out, exist_ok=True)


def save(image: Image.Image, name: str) -> None:
    image = image.convert('RGB').quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                          dither=Image.Dither.NONE)
    image.save(os.path.join(out, name), optimize=True)
    print(f'{out}/{name}: {image.size[0]}x{image.size[1]}')


def stack(pattern: str, name: str) -> None:
    paths = sorted(glob.glob(os.path.join(tmp, pattern)))[:3]
    save(Image.fromarray(np.concatenate([np.asarray(Image.open(p).convert('RGB'))
                                         for p in paths], axis=0)), name)


stack('browse_seg/*.png', 'browse_dataset_seg.png')
stack('browse_det/*.png', 'browse_dataset_det.png')
stack('seg_show/*.png', 'show_dir_seg.png')
stack('det_show/*.png', 'show_dir_det.png')
save(Image.open(os.path.join(tmp, 'seg_cm', 'confusion_matrix.png')), 'confusion_matrix_seg.png')
save(Image.open(os.path.join(tmp, 'det_cm', 'confusion_matrix.png')), 'confusion_matrix_det.png')
PY
