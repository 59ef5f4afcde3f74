"""The deterministic synthetic "shapes" data: drawing functions, a Cityscapes-style writer, a
COCO instances writer and a COCO keypoints writer (the rectangles' corners)."""
from .cityscapes_writer import (inspect_tree, read_meta, remove_tree, sample_paths,
                                shapes_params, write_shapes_tree)
from .coco_keypoints_writer import (FLIP_INDICES, KEYPOINT_NAMES, CORNER_SIGMA,
                                    inspect_keypoint_tree, keypoint_ann_path, keypoint_params,
                                    rectangle_corners, remove_keypoint_tree, write_shapes_keypoints)
from .coco_writer import (SHAPES_COCO_CLASSES, coco_ann_path, coco_categories, coco_image_path,
                          coco_params, inspect_coco_tree, mask_to_polygons, mask_to_rle,
                          remove_coco_tree, write_shapes_coco)
from .shapes import (SHAPE_CLASSES, SHAPE_PALETTE, ShapeInstance, ShapeSpec, ShapesSample,
                     generate_sample, shape_mask, size_range)

__all__ = [
    'SHAPE_CLASSES', 'SHAPE_PALETTE', 'ShapeSpec', 'ShapeInstance', 'ShapesSample',
    'generate_sample', 'shape_mask', 'size_range', 'shapes_params', 'sample_paths', 'read_meta',
    'inspect_tree', 'remove_tree', 'write_shapes_tree', 'SHAPES_COCO_CLASSES', 'coco_params',
    'coco_categories', 'coco_image_path', 'coco_ann_path', 'mask_to_polygons', 'mask_to_rle',
    'inspect_coco_tree', 'remove_coco_tree', 'write_shapes_coco', 'KEYPOINT_NAMES',
    'FLIP_INDICES', 'CORNER_SIGMA', 'keypoint_params', 'keypoint_ann_path', 'rectangle_corners',
    'inspect_keypoint_tree', 'remove_keypoint_tree', 'write_shapes_keypoints'
]
