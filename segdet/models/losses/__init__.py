"""segdet.models.losses."""
