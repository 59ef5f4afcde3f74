"""Models: importing this package registers every model component in ``segdet.registry.MODELS``."""
from . import backbones, data_preprocessors, decode_heads, losses, necks, segmentors  # noqa: F401
