"""segdet.datasets."""
