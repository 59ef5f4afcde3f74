"""A segmentation visualizer on mmengine's ``Visualizer``: label maps in the data set's palette."""
from typing import Optional

import mmcv
import numpy as np
from mmengine.visualization import Visualizer

from segdet.registry import VISUALIZERS
from segdet.structures import DataSample

from .seg_overlay import overlay_sem_seg


@VISUALIZERS.register_module()
class SegLocalVisualizer(Visualizer):
    """Draw ``gt_sem_seg`` and/or ``pred_sem_seg`` of a data sample over its image.

    Colours come from ``dataset_meta['palette']`` (set by the visualization hook from the data
    set); unlabeled pixels (255) are left unpainted. Images are RGB, as in mmengine.

    Args:
        alpha: Weight of the label colours over the image.
        **kwargs: ``Visualizer`` arguments (``name``, ``vis_backends``, ``save_dir``, ...).
    """

    def __init__(self, name: str = 'visualizer', alpha: float = 0.5, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.alpha = alpha
        self.dataset_meta: dict = {}

    def draw_sem_seg(self, image: np.ndarray, sem_seg: np.ndarray) -> np.ndarray:
        """(H, W, 3) RGB image with the (H, W) label map blended in; returns RGB."""
        bgr = np.ascontiguousarray(image[..., ::-1])
        drawn = overlay_sem_seg(bgr, sem_seg, self.dataset_meta.get('palette'), self.alpha)
        return np.ascontiguousarray(drawn[..., ::-1])

    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Optional[DataSample] = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0) -> np.ndarray:
        """Panels side by side: [ground truth | prediction] (those present and asked for).

        Returns:
            The drawn RGB image; written to ``out_file`` (as BGR PNG/JPG) when given, else
            sent to the visualizer's backends under ``name`` at ``step``.
        """
        panels = []
        if data_sample is not None:
            if draw_gt and 'gt_sem_seg' in data_sample:
                panels.append(self.draw_sem_seg(image, data_sample.gt_sem_seg.data[0].cpu()
                                                .numpy()))
            if draw_pred and 'pred_sem_seg' in data_sample:
                panels.append(self.draw_sem_seg(image, data_sample.pred_sem_seg.data[0].cpu()
                                                .numpy()))
        drawn = np.concatenate(panels, axis=1) if panels else image
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn
