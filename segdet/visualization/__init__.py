"""Visualisation: label-map and instance overlays, the segmentation and detection visualizers."""
from .det_local_visualizer import DetLocalVisualizer
from .det_overlay import instance_colours, label_colour, overlay_instances
from .seg_local_visualizer import SegLocalVisualizer
from .seg_overlay import default_palette, overlay_sem_seg

__all__ = [
    'DetLocalVisualizer', 'SegLocalVisualizer', 'default_palette', 'instance_colours',
    'label_colour', 'overlay_instances', 'overlay_sem_seg'
]
