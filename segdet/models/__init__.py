"""Models: importing this package registers every model component in ``segdet.registry.MODELS``."""
from . import (backbones, data_preprocessors, decode_heads, losses, necks,  # noqa: F401
               segmentors, task_modules)
