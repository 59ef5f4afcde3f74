"""segdet: a plugin-based toolbox for semantic segmentation and object detection."""
from .version import __version__

__all__ = ['__version__']
