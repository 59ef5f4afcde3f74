"""Metrics, registered in ``segdet.registry.METRICS``."""
from .coco_metric import CocoMetric
from .det_confusion import instance_confusion
from .iou_metric import IoUMetric, prediction_png_name
from .proposal_recall import eval_recalls
from .seg_functional import intersect_and_union, total_area_to_metrics

__all__ = [
    'IoUMetric', 'prediction_png_name', 'intersect_and_union', 'total_area_to_metrics',
    'CocoMetric', 'instance_confusion', 'eval_recalls'
]
