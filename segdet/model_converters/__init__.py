"""Checkpoint converters: weights of torchvision, maskrcnn-benchmark and Detectron detectors
as segdet checkpoints for a named config (``tools/model_converters/``; how each source's
conventions map to config options: ``tools/model_converters/README.md``)."""
from .classes import COCO_CATEGORY_IDS, classifier_rows, mask_channels, regression_blocks
from .convert import FORMATS, SourceFormat, convert_checkpoint
from .core import ClassLayoutError, ConversionError, ConversionReport, Source, convert_state_dict
from .detectron import load_detectron_pkl
from .target import save_converted, target_shapes

__all__ = ['COCO_CATEGORY_IDS', 'ClassLayoutError', 'ConversionError', 'ConversionReport',
           'FORMATS', 'Source', 'SourceFormat', 'classifier_rows', 'convert_checkpoint',
           'convert_state_dict', 'load_detectron_pkl', 'mask_channels', 'regression_blocks',
           'save_converted', 'target_shapes']
