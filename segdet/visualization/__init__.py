"""Visualisation: label-map overlays and the segmentation visualizer."""
from .seg_local_visualizer import SegLocalVisualizer
from .seg_overlay import default_palette, overlay_sem_seg

__all__ = ['SegLocalVisualizer', 'default_palette', 'overlay_sem_seg']
