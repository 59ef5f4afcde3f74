"""segdet.models.data_preprocessors."""
