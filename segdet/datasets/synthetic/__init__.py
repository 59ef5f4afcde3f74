"""The deterministic synthetic "shapes" data: drawing functions and a Cityscapes-style writer."""
from .cityscapes_writer import (inspect_tree, read_meta, remove_tree, sample_paths,
                                shapes_params, write_shapes_tree)
from .shapes import (SHAPE_CLASSES, SHAPE_PALETTE, ShapeInstance, ShapeSpec, ShapesSample,
                     generate_sample, shape_mask, size_range)

__all__ = [
    'SHAPE_CLASSES', 'SHAPE_PALETTE', 'ShapeSpec', 'ShapeInstance', 'ShapesSample',
    'generate_sample', 'shape_mask', 'size_range', 'shapes_params', 'sample_paths', 'read_meta',
    'inspect_tree', 'remove_tree', 'write_shapes_tree'
]
