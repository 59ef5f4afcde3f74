"""segdet.models.segmentors."""
