"""Pascal VOC 2012 segmentation (21 classes including background)."""
from segdet.registry import DATASETS
from .basesegdataset import BaseSegDataset


@DATASETS.register_module()
class PascalVOCDataset(BaseSegDataset):
    """Pascal VOC 2012 ``JPEGImages`` + ``SegmentationClass[Aug]``, listed by a split file.

    Args:
        ann_file: Split file (e.g. 'ImageSets/Segmentation/train.txt'), required.
        img_suffix: Image file ending.
        seg_map_suffix: Label file ending.
        **kwargs: :class:`BaseSegDataset` arguments.
    """

    METAINFO = dict(
        classes=('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
                 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
                 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'),
        palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128],
                 [0, 128, 128], [128, 128, 128], [64, 0, 0], [192, 0, 0], [64, 128, 0],
                 [192, 128, 0], [64, 0, 128], [192, 0, 128], [64, 128, 128], [192, 128, 128],
                 [0, 64, 0], [128, 64, 0], [0, 192, 0], [128, 192, 0], [0, 64, 128]])

    def __init__(self,
                 ann_file: str = '',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        if not ann_file:
            raise ValueError(
                'PascalVOCDataset needs ann_file, a split file such as '
                "'ImageSets/Segmentation/train.txt' (relative to data_root)")
        super().__init__(
            ann_file=ann_file, img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
