"""The synthetic "shapes" data set (see ``tools/misc/make_shapes_data.py``)."""
from segdet.registry import DATASETS
from .basesegdataset import BaseSegDataset
from .synthetic.shapes import SHAPE_CLASSES, SHAPE_PALETTE


@DATASETS.register_module()
class ShapesDataset(BaseSegDataset):
    """Synthetic circles, rectangles and triangles in a Cityscapes-style tree.

    Classes: 0 background, 1 circle, 2 rectangle, 3 triangle.

    Args:
        img_suffix: Image file ending.
        seg_map_suffix: Label file ending.
        **kwargs: :class:`BaseSegDataset` arguments.
    """

    METAINFO = dict(classes=SHAPE_CLASSES, palette=SHAPE_PALETTE)

    def __init__(self,
                 img_suffix: str = '_leftImg8bit.png',
                 seg_map_suffix: str = '_gtFine_labelTrainIds.png',
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
