"""RoI feature extractors."""
from .single_level_roi_extractor import RoIAlign, SingleRoIExtractor, map_roi_levels

__all__ = ['RoIAlign', 'SingleRoIExtractor', 'map_roi_levels']
