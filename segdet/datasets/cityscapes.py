"""Cityscapes (19 training classes, ``*_gtFine_labelTrainIds.png`` label maps)."""
from typing import Optional

from segdet.registry import DATASETS
from .basesegdataset import BaseSegDataset


@DATASETS.register_module()
class CityscapesDataset(BaseSegDataset):
    """Cityscapes fine annotations in the official ``leftImg8bit`` / ``gtFine`` layout.

    Label maps hold train ids 0..18 and 255. ``METAINFO['label_ids']`` gives the Cityscapes
    label id of each train id (in class order), used to write benchmark-server PNGs; with a
    subset of classes it follows the subset.

    Args:
        img_suffix: Image file ending.
        seg_map_suffix: Label file ending.
        **kwargs: :class:`BaseSegDataset` arguments.
    """

    METAINFO = dict(
        classes=('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                 'traffic sign', 'vegetation', 'terrain', 'sky', 'person', 'rider', 'car',
                 'truck', 'bus', 'train', 'motorcycle', 'bicycle'),
        palette=[[128, 64, 128], [244, 35, 232], [70, 70, 70], [102, 102, 156], [190, 153, 153],
                 [153, 153, 153], [250, 170, 30], [220, 220, 0], [107, 142, 35],
                 [152, 251, 152], [70, 130, 180], [220, 20, 60], [255, 0, 0], [0, 0, 142],
                 [0, 0, 70], [0, 60, 100], [0, 80, 100], [0, 0, 230], [119, 11, 32]],
        label_ids=(7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33))

    def __init__(self,
                 img_suffix: str = '_leftImg8bit.png',
                 seg_map_suffix: str = '_gtFine_labelTrainIds.png',
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def _load_metainfo(self, metainfo: Optional[dict] = None) -> dict:
        info = super()._load_metainfo(metainfo)
        if self.label_map is not None and 'label_ids' not in (metainfo or {}):
            ids = self.METAINFO['label_ids']
            kept = sorted((new, old) for old, new in self.label_map.items() if new != 255)
            info['label_ids'] = tuple(ids[old] for _, old in kept)
        return info
