"""segdet.visualization."""
