"""segdet: a plugin-based toolbox for semantic segmentation and object detection."""
from .config_index import list_configs
from .version import __version__

__all__ = ['__version__', 'list_configs']
