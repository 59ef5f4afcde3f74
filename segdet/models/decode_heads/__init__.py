"""segdet.models.decode_heads."""
