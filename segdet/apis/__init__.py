"""segdet.apis."""
