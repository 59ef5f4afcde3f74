"""segdet.utils."""
