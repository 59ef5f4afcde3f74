"""Draw predictions during validation (to the visualizer's backends) and testing (PNGs,
``tools/test.py --show-dir``), for segmentation and detection samples alike.

``VisualizationHook`` is also registered as ``SegVisualizationHook`` (mmsegmentation's name,
same defaults); ``DetVisualizationHook`` is the same hook with mmdetection's defaults.
"""
import os
import os.path as osp
from typing import Any, Optional, Sequence

import mmcv
from mmengine.hooks import Hook

from segdet.registry import HOOKS
from segdet.structures import DataSample
from segdet.visualization import LocalVisualizer


@HOOKS.register_module(name=['VisualizationHook', 'SegVisualizationHook'])
class VisualizationHook(Hook):
    """Draw the predictions (and optionally the ground truth) of a sample over its image.

    The visualizer draws what the sample holds: label maps (``*_sem_seg``) and boxes,
    captions and masks (``*_instances``).

    - Testing (``draw=True``): one PNG per image in ``show_dir`` (relative paths go under the
      run's work dir), the prediction over the image, or [ground truth | prediction] with
      ``draw_gt=True``.
    - Validation (``draw=True``): the first image of every ``interval``-th batch goes to the
      visualizer's backends (``vis_data/vis_image/`` with the default ``LocalVisBackend``),
      [ground truth | prediction], tagged with the training iteration.

    Colours are the data set's palette. The runner's visualizer is used when it is a
    :class:`LocalVisualizer` (any of its registered names); otherwise a private one is made.

    Args:
        draw: Whether to draw at all.
        interval: Draw every ``interval``-th batch.
        show_dir: Output directory for test images.
        alpha: Weight of the label / mask colours.
        draw_gt: Put the ground truth beside the prediction in test images.
        score_thr: Predicted instances scoring at or below this are not drawn; None keeps the
            visualizer's own ``score_thr``.
        show: Also show each test image in a window.
        wait_time: Seconds to show it for.
        test_out_dir: mmdetection's name for ``show_dir``; ``show_dir`` wins when both given.
        backend_args: Accepted for mmdetection configs; images are read from local paths.
    """

    priority = 'NORMAL'

    def __init__(self, draw: bool = False, interval: int = 1, show_dir: Optional[str] = None,
                 alpha: float = 0.5, draw_gt: bool = False, score_thr: Optional[float] = None,
                 show: bool = False, wait_time: float = 0., test_out_dir: Optional[str] = None,
                 backend_args: Optional[dict] = None) -> None:
        self.draw = draw
        self.interval = interval
        self.show_dir = show_dir or test_out_dir
        self.alpha = alpha
        self.draw_gt = draw_gt
        self.score_thr = score_thr
        self.show = show
        self.wait_time = wait_time
        self.backend_args = backend_args
        self._visualizer: Optional[LocalVisualizer] = None

    def _get_visualizer(self, runner: Any, loader_attr: str) -> LocalVisualizer:
        if self._visualizer is None:
            vis = getattr(runner, 'visualizer', None)
            self._visualizer = vis if isinstance(vis, LocalVisualizer) else \
                LocalVisualizer(name=f'vis_hook_{id(self)}')
        self._visualizer.alpha = self.alpha
        loader = getattr(runner, loader_attr, None)
        dataset = getattr(loader, 'dataset', None)
        if dataset is not None and hasattr(dataset, 'metainfo'):
            self._visualizer.dataset_meta = dict(dataset.metainfo)
        return self._visualizer

    def _draw_kwargs(self) -> dict:
        return {} if self.score_thr is None else dict(pred_score_thr=self.score_thr)

    def _out_dir(self, runner: Any) -> str:
        out = self.show_dir or 'vis'
        if not osp.isabs(out):
            out = osp.join(runner.work_dir, out)
        os.makedirs(out, exist_ok=True)
        return out

    def after_test_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                        outputs: Optional[Sequence[DataSample]] = None) -> None:
        if not self.draw or batch_idx % self.interval or not outputs:
            return
        vis = self._get_visualizer(runner, 'test_dataloader')
        out_dir = self._out_dir(runner)
        for sample in outputs:
            img = mmcv.imread(sample.img_path, channel_order='rgb')
            name = osp.splitext(osp.basename(sample.img_path))[0] + '.png'
            vis.add_datasample(name, img, sample, draw_gt=self.draw_gt, draw_pred=True,
                               show=self.show, wait_time=self.wait_time,
                               out_file=osp.join(out_dir, name), **self._draw_kwargs())

    def after_val_iter(self, runner: Any, batch_idx: int, data_batch: Any = None,
                       outputs: Optional[Sequence[DataSample]] = None) -> None:
        if not self.draw or batch_idx % self.interval or not outputs:
            return
        vis = self._get_visualizer(runner, 'val_dataloader')
        sample = outputs[0]
        img = mmcv.imread(sample.img_path, channel_order='rgb')
        vis.add_datasample(f'val_{osp.basename(sample.img_path)}', img, sample,
                           draw_gt=True, draw_pred=True, step=runner.iter,
                           **self._draw_kwargs())


@HOOKS.register_module()
class DetVisualizationHook(VisualizationHook):
    """:class:`VisualizationHook` with mmdetection's defaults: ``interval=50``,
    ``score_thr=0.3``.

    Args:
        draw: Whether to draw at all.
        interval: Draw every ``interval``-th batch.
        score_thr: Predicted instances scoring at or below this are not drawn.
        **kwargs: The other :class:`VisualizationHook` arguments.
    """

    def __init__(self, draw: bool = False, interval: int = 50, score_thr: float = 0.3,
                 **kwargs: Any) -> None:
        super().__init__(draw=draw, interval=interval, score_thr=score_thr, **kwargs)


# mmsegmentation's name, for code that imports it.
SegVisualizationHook = VisualizationHook
