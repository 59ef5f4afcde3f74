"""Evaluation: metrics that mmengine's Evaluator runs (``val_evaluator`` / ``test_evaluator``)."""
from .metrics import (CocoMetric, IoUMetric, eval_recalls, intersect_and_union,
                      total_area_to_metrics)

__all__ = [
    'IoUMetric', 'intersect_and_union', 'total_area_to_metrics', 'CocoMetric', 'eval_recalls'
]
