"""Metrics, registered in ``segdet.registry.METRICS``."""
from .iou_metric import IoUMetric
from .seg_functional import intersect_and_union, total_area_to_metrics

__all__ = ['IoUMetric', 'intersect_and_union', 'total_area_to_metrics']
