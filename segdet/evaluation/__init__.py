"""segdet.evaluation."""
