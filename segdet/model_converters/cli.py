"""The command line of ``tools/model_converters/*2segdet.py`` (one per source format)."""
import argparse
import sys
from typing import Optional, Sequence

from mmengine.config import DictAction

from segdet.engine import UnsafeCheckpointError

from .convert import FORMATS, convert_checkpoint
from .core import ConversionError

DESCRIPTIONS = {
    'torchvision': "Convert a torchvision detection checkpoint (fasterrcnn_resnet50_fpn, "
                   "maskrcnn_resnet50_fpn) into a segdet checkpoint.",
    'maskrcnn-benchmark': "Convert a maskrcnn-benchmark checkpoint (.pth: Faster / Mask R-CNN "
                          "R-50-C4, R-50/101-FPN, X-101-32x8d-FPN) into a segdet checkpoint.",
    'detectron': "Convert Detectron (Caffe2) weights (.pkl: the GN and BN* Mask R-CNN models, "
                 "ImageNet backbones such as R-50-GN.pkl) into a segdet checkpoint.",
}

EPILOG = ('The config options that reproduce the source library\'s behaviour (anchors, '
          'RoIAlign, input normalisation, mask pasting) are listed in '
          'tools/model_converters/README.md.')


def parse_args(source_format: str, argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Arguments: SRC DST --config CONFIG [--cfg-options ...] [--trust-checkpoint]."""
    parser = argparse.ArgumentParser(description=DESCRIPTIONS[source_format], epilog=EPILOG)
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('dst', help='output segdet checkpoint (.pth), written atomically')
    parser.add_argument('--config', required=True,
                        help='segdet config of the model the weights are for')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, as in tools/test.py')
    if source_format != 'detectron':
        parser.add_argument('--trust-checkpoint', action='store_true',
                            help='unpickle SRC in full (only for files you trust); by default '
                                 'it is loaded with weights_only=True')
    return parser.parse_args(argv)


def main(source_format: str, argv: Optional[Sequence[str]] = None) -> int:
    """Run one converter; exit status 1 with the mismatch report when the file does not fit."""
    if source_format not in FORMATS:
        raise KeyError(f'unknown source format {source_format!r}; known: {sorted(FORMATS)}')
    args = parse_args(source_format, argv)
    try:
        report = convert_checkpoint(
            args.src, args.dst, args.config, source_format, cfg_options=args.cfg_options,
            trust=getattr(args, 'trust_checkpoint', False), log=lambda msg: print(msg, flush=True))
    except (ConversionError, FileNotFoundError, UnsafeCheckpointError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(report.summary())
    print(f'saved {args.dst}. {EPILOG}')
    return 0
