"""Modules of the example detection project; importing the package registers them in segdet."""
from .light_conv_bbox_head import LightConvBBoxHead

__all__ = ['LightConvBBoxHead']
