"""Convert a maskrcnn-benchmark checkpoint into a segdet checkpoint for a config.

    python tools/model_converters/maskrcnn_benchmark2segdet.py SRC DST --config CONFIG

SRC: a maskrcnn-benchmark ``.pth`` (``model_final.pth`` of its model zoo: Faster / Mask R-CNN
R-50-C4, R-50-FPN, R-101-FPN, X-101-32x8d-FPN). CONFIG: the segdet config of the same model
(the table in tools/model_converters/README.md, with the options that reproduce
maskrcnn-benchmark's inference).
"""
import sys

from segdet.model_converters.cli import main

if __name__ == '__main__':
    sys.exit(main('maskrcnn-benchmark'))
