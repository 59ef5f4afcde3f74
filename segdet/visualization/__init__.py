"""Visualisation: label-map and instance overlays, and the visualizer of both families."""
from .det_overlay import instance_colours, label_colour, overlay_instances
from .local_visualizer import DetLocalVisualizer, LocalVisualizer, SegLocalVisualizer
from .seg_overlay import default_palette, overlay_sem_seg

__all__ = [
    'DetLocalVisualizer', 'LocalVisualizer', 'SegLocalVisualizer', 'default_palette',
    'instance_colours', 'label_colour', 'overlay_instances', 'overlay_sem_seg'
]
