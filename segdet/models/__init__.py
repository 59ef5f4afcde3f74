"""Models: importing this package registers every model component in ``segdet.registry.MODELS``."""
from . import (backbones, data_preprocessors, decode_heads, dense_heads, detectors,  # noqa: F401
               losses, necks, roi_heads, segmentors, task_modules, test_time_augs)
