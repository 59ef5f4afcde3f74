"""Visualisation: label-map, instance and keypoint overlays, and the visualizer of both
families."""
from .det_overlay import instance_colours, label_colour, overlay_instances, overlay_keypoints
from .local_visualizer import DetLocalVisualizer, LocalVisualizer, SegLocalVisualizer
from .seg_overlay import default_palette, overlay_sem_seg

__all__ = [
    'DetLocalVisualizer', 'LocalVisualizer', 'SegLocalVisualizer', 'default_palette',
    'instance_colours', 'label_colour', 'overlay_instances', 'overlay_keypoints',
    'overlay_sem_seg'
]
