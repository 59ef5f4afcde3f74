"""segdet.models.backbones."""
