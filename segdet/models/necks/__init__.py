"""segdet.models.necks."""
