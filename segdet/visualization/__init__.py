"""Visualisation helpers."""
from .seg_overlay import default_palette, overlay_sem_seg

__all__ = ['default_palette', 'overlay_sem_seg']
