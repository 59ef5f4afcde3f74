"""The visualizer of both families: label maps, boxes, class names, scores, masks and
keypoints.

Registered as ``LocalVisualizer`` and under the names that mmsegmentation and mmdetection
configs use, ``SegLocalVisualizer`` and ``DetLocalVisualizer``: all three build this class.
"""
from typing import Any, Optional

import mmcv
import numpy as np
from mmengine.structures import InstanceData
from mmengine.visualization import Visualizer

from segdet.registry import VISUALIZERS
from segdet.structures import DataSample

from .det_overlay import instance_colours, overlay_instances, overlay_keypoints
from .seg_overlay import overlay_sem_seg


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):  # torch.Tensor
        return value.detach().cpu().numpy()
    if hasattr(value, 'to_ndarray'):  # mask structures with their own conversion
        return value.to_ndarray()
    return np.asarray(value)


@VISUALIZERS.register_module(name=['LocalVisualizer', 'SegLocalVisualizer',
                                   'DetLocalVisualizer'])
class LocalVisualizer(Visualizer):
    """Draw what a data sample holds over its image: ``*_sem_seg`` and ``*_instances``.

    A panel per side, [ground truth | prediction]: the label map blended in when the sample
    has one (unlabeled pixels, 255, left unpainted), then instance masks, box outlines,
    "name score" captions and keypoints with their skeleton. Colours are ``dataset_meta['palette']`` (set by the visualization
    hook from the data set), or fixed colours per label beyond it. Predicted instances scoring
    ``<= score_thr`` are left out. Images are RGB, as in mmengine.

    Args:
        name: Instance name of the visualizer (mmengine's ``ManagerMixin``).
        alpha: Weight of the label-map and mask colours over the image.
        score_thr: Predicted instances scoring at or below this are not drawn.
        line_width: Box outline and limb thickness in pixels.
        keypoint_score_thr: Predicted keypoints whose score (a heatmap logit) is at or below
            this are not drawn (2, as Detectron's keypoint visualisation).
        **kwargs: ``Visualizer`` arguments (``vis_backends``, ``save_dir``, ...).
    """

    def __init__(self, name: str = 'visualizer', alpha: float = 0.5, score_thr: float = 0.3,
                 line_width: int = 2, keypoint_score_thr: float = 2.0,
                 **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.keypoint_score_thr = keypoint_score_thr
        self.alpha = alpha
        self.score_thr = score_thr
        self.line_width = line_width
        self.dataset_meta: dict = {}

    def draw_sem_seg(self, image: np.ndarray, sem_seg: np.ndarray) -> np.ndarray:
        """Blend a label map over an image.

        Args:
            image: (H, W, 3) uint8 RGB image.
            sem_seg: (H, W) integer label map.

        Returns:
            (H, W, 3) uint8 RGB image.
        """
        bgr = np.ascontiguousarray(image[..., ::-1])
        drawn = overlay_sem_seg(bgr, sem_seg, self.dataset_meta.get('palette'), self.alpha)
        return np.ascontiguousarray(drawn[..., ::-1])

    def draw_instances(self, image: np.ndarray, instances: InstanceData,
                       score_thr: Optional[float] = None) -> np.ndarray:
        """Draw instances over an image.

        Args:
            image: (H, W, 3) uint8 RGB image.
            instances: ``bboxes`` (N, 4) x1y1x2y2, ``labels`` (N,), optional ``scores`` (N,)
                and ``masks`` (N, H, W) at the image's size.
            score_thr: Keep only instances scoring above this (when they have scores).

        Returns:
            (H, W, 3) uint8 RGB image.
        """
        if score_thr is not None and 'scores' in instances:
            instances = instances[instances.scores > score_thr]
        if 'bboxes' not in instances or len(instances) == 0:
            return image
        bgr = np.ascontiguousarray(image[..., ::-1])
        drawn = overlay_instances(
            bgr, _to_numpy(instances.bboxes), _to_numpy(instances.labels),
            scores=_to_numpy(instances.scores) if 'scores' in instances else None,
            masks=_to_numpy(instances.masks) if 'masks' in instances else None,
            classes=self.dataset_meta.get('classes'), palette=self.dataset_meta.get('palette'),
            alpha=self.alpha, line_width=self.line_width)
        if 'keypoints' in instances:
            drawn = self._draw_keypoints(drawn, instances)
        return np.ascontiguousarray(drawn[..., ::-1])

    def _draw_keypoints(self, bgr: np.ndarray, instances: InstanceData) -> np.ndarray:
        """Keypoints and skeleton (``dataset_meta['skeleton']``) of each instance in its
        class colour: ground truth (N, K, 3) where labelled (v > 0), predictions (N, K, 2)
        where ``keypoint_scores`` exceed ``keypoint_score_thr`` (heatmap logits)."""
        keypoints = _to_numpy(instances.keypoints)
        if keypoints.shape[-1] == 3:
            visible = keypoints[..., 2] > 0
        elif 'keypoint_scores' in instances:
            visible = _to_numpy(instances.keypoint_scores) > self.keypoint_score_thr
        else:
            visible = np.ones(keypoints.shape[:2], dtype=bool)
        colours = [c[::-1] for c in instance_colours(_to_numpy(instances.labels),
                                                      self.dataset_meta.get('palette'))]
        return overlay_keypoints(bgr, keypoints[..., :2], visible, colours,
                                 self.dataset_meta.get('skeleton'), line_width=self.line_width)

    def _panel(self, image: np.ndarray, data_sample: DataSample, side: str,
               score_thr: Optional[float]) -> Optional[np.ndarray]:
        """``side`` ('gt' or 'pred') drawn over the image; None when the sample has neither."""
        sem_key, inst_key = f'{side}_sem_seg', f'{side}_instances'
        if sem_key not in data_sample and inst_key not in data_sample:
            return None
        panel = image
        if sem_key in data_sample:
            panel = self.draw_sem_seg(panel, data_sample.get(sem_key).data[0].cpu().numpy())
        if inst_key in data_sample:
            panel = self.draw_instances(panel, data_sample.get(inst_key), score_thr)
        return panel

    def add_datasample(self, name: str, image: np.ndarray,
                       data_sample: Optional[DataSample] = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, step: int = 0,
                       pred_score_thr: Optional[float] = None) -> np.ndarray:
        """Panels side by side: [ground truth | prediction] (those present and asked for).

        Args:
            name: Image name for the backends / window.
            image: (H, W, 3) uint8 RGB image at the size of the annotations / predictions.
            data_sample: Sample with ``gt_sem_seg`` / ``pred_sem_seg`` and/or
                ``gt_instances`` / ``pred_instances``.
            draw_gt: Draw the ground-truth panel.
            draw_pred: Draw the prediction panel.
            show: Show the result in a window.
            wait_time: Seconds to show it for.
            out_file: Write the result here (BGR PNG/JPG) instead of to the backends.
            step: Step recorded with the image in the backends.
            pred_score_thr: Overrides ``score_thr`` for this call (mmdetection's argument).

        Returns:
            The drawn RGB image, (H, k * W, 3) for k panels (the image itself when k = 0).
        """
        image = np.asarray(image).clip(0, 255).astype(np.uint8)
        thr = self.score_thr if pred_score_thr is None else pred_score_thr
        panels = []
        if data_sample is not None:
            if draw_gt:
                panels.append(self._panel(image, data_sample, 'gt', None))
            if draw_pred:
                panels.append(self._panel(image, data_sample, 'pred', thr))
        panels = [p for p in panels if p is not None]
        drawn = np.concatenate(panels, axis=1) if panels else image
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn


# The names of mmsegmentation's and mmdetection's visualizers, for code that imports them.
SegLocalVisualizer = LocalVisualizer
DetLocalVisualizer = LocalVisualizer
