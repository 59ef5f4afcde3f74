"""Draw predictions during validation (to the visualizer's backends) and testing (PNGs,
``tools/test.py --show-dir``), for segmentation and detection samples alike."""
import os
import os.path as osp
from typing import Any, Optional, Sequence

import mmcv
from mmengine.hooks import Hook

from segdet.registry import HOOKS
from segdet.structures import DataSample
from segdet.visualization import DetLocalVisualizer, SegLocalVisualizer


@HOOKS.register_module()
class SegVisualizationHook(Hook):
    """Draw the predictions (and optionally the ground truth) of a sample over its image.

    What is drawn is the visualizer's business: label maps (``*_sem_seg``) with a
    ``SegLocalVisualizer``; boxes, captions and masks (``*_instances``) as well with a
    ``DetLocalVisualizer``.

    - Testing (``draw=True``): one PNG per image in ``show_dir`` (relative paths go under the
      run's work dir), the prediction over the image, or [ground truth | prediction] with
      ``draw_gt=True``.
    - Validation (``draw=True``): the first image of every ``interval``-th batch goes to the
      visualizer's backends (``vis_data/vis_image/`` with the default ``LocalVisBackend``),
      [ground truth | prediction], tagged with the training iteration.

    Colours are the data set's palette. The runner's visualizer is used when it is a
    ``visualizer_type`` (the runtime bases' ``SegLocalVisualizer`` / ``DetLocalVisualizer``);
    otherwise a private ``DetLocalVisualizer``, which draws both kinds, is made.

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
    """

    priority = 'NORMAL'
    visualizer_type: type = SegLocalVisualizer

    def __init__(self, draw: bool = False, interval: int = 1, show_dir: Optional[str] = None,
                 alpha: float = 0.5, draw_gt: bool = False, score_thr: Optional[float] = None,
                 show: bool = False, wait_time: float = 0.) -> None:
        self.draw = draw
        self.interval = interval
        self.show_dir = show_dir
        self.alpha = alpha
        self.draw_gt = draw_gt
        self.score_thr = score_thr
        self.show = show
        self.wait_time = wait_time
        self._visualizer: Optional[SegLocalVisualizer] = None

    def _get_visualizer(self, runner, loader_attr: str) -> SegLocalVisualizer:
        if self._visualizer is None:
            vis = getattr(runner, 'visualizer', None)
            self._visualizer = vis if isinstance(vis, self.visualizer_type) else \
                DetLocalVisualizer(name=f'vis_hook_{id(self)}')
        self._visualizer.alpha = self.alpha
        loader = getattr(runner, loader_attr, None)
        dataset = getattr(loader, 'dataset', None)
        if dataset is not None and hasattr(dataset, 'metainfo'):
            self._visualizer.dataset_meta = dict(dataset.metainfo)
        return self._visualizer

    def _draw_kwargs(self, vis: SegLocalVisualizer) -> dict:
        if self.score_thr is not None and isinstance(vis, DetLocalVisualizer):
            return dict(pred_score_thr=self.score_thr)
        return {}

    def _out_dir(self, runner) -> str:
        out = self.show_dir or 'vis'
        if not osp.isabs(out):
            out = osp.join(runner.work_dir, out)
        os.makedirs(out, exist_ok=True)
        return out

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
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
                               out_file=osp.join(out_dir, name), **self._draw_kwargs(vis))

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence[DataSample]] = None) -> None:
        if not self.draw or batch_idx % self.interval or not outputs:
            return
        vis = self._get_visualizer(runner, 'val_dataloader')
        sample = outputs[0]
        img = mmcv.imread(sample.img_path, channel_order='rgb')
        vis.add_datasample(f'val_{osp.basename(sample.img_path)}', img, sample,
                           draw_gt=True, draw_pred=True, step=runner.iter,
                           **self._draw_kwargs(vis))


@HOOKS.register_module()
class DetVisualizationHook(SegVisualizationHook):
    """:class:`SegVisualizationHook` under mmdetection's name, for its configs.

    Same behaviour; mmdetection's defaults and argument names: ``interval=50``,
    ``score_thr=0.3`` and ``test_out_dir`` (an alias of ``show_dir``). It draws with the
    runner's visualizer only when that is a ``DetLocalVisualizer`` (otherwise with a private
    one), so instances are always drawn.

    Args:
        test_out_dir: mmdetection's name for ``show_dir``; ``show_dir`` wins when both given.
        score_thr: Predicted instances scoring at or below this are not drawn.
        backend_args: Accepted for mmdetection configs; images are read from local paths.
        **kwargs: The other :class:`SegVisualizationHook` arguments.
    """

    visualizer_type = DetLocalVisualizer

    def __init__(self, draw: bool = False, interval: int = 50, score_thr: float = 0.3,
                 test_out_dir: Optional[str] = None, show_dir: Optional[str] = None,
                 backend_args: Optional[dict] = None, **kwargs: Any) -> None:
        super().__init__(draw=draw, interval=interval, show_dir=show_dir or test_out_dir,
                         score_thr=score_thr, **kwargs)
        self.backend_args = backend_args
