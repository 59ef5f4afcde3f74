"""segdet.datasets.transforms."""
