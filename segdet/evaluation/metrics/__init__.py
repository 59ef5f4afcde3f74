"""segdet.evaluation.metrics."""
