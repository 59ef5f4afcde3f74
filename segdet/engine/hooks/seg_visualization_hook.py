"""Draw predictions during validation (to the visualizer's backends) and testing (PNGs,
``tools/test.py --show-dir``)."""
import os
import os.path as osp
from typing import Optional, Sequence

import mmcv
from mmengine.hooks import Hook

from segdet.registry import HOOKS
from segdet.structures import DataSample
from segdet.visualization import SegLocalVisualizer


@HOOKS.register_module()
class SegVisualizationHook(Hook):
    """Draw ``pred_sem_seg`` (and optionally ``gt_sem_seg``) over the input images.

    - Testing (``draw=True``): one PNG per image in ``show_dir`` (relative paths go under the
      run's work dir), the prediction over the image, or [ground truth | prediction] with
      ``draw_gt=True``.
    - Validation (``draw=True``): the first image of every ``interval``-th batch goes to the
      visualizer's backends (``vis_data/vis_image/`` with the default ``LocalVisBackend``),
      [ground truth | prediction], tagged with the training iteration.

    Colours are the data set's palette. The runner's visualizer is used when it is a
    ``SegLocalVisualizer`` (the runtime base's); otherwise a private one is made.

    Args:
        draw: Whether to draw at all.
        interval: Draw every ``interval``-th batch.
        show_dir: Output directory for test images.
        alpha: Weight of the label colours.
        draw_gt: Put the ground truth beside the prediction in test images.
    """

    priority = 'NORMAL'

    def __init__(self, draw: bool = False, interval: int = 1, show_dir: Optional[str] = None,
                 alpha: float = 0.5, draw_gt: bool = False) -> None:
        self.draw = draw
        self.interval = interval
        self.show_dir = show_dir
        self.alpha = alpha
        self.draw_gt = draw_gt
        self._visualizer: Optional[SegLocalVisualizer] = None

    def _get_visualizer(self, runner, loader_attr: str) -> SegLocalVisualizer:
        if self._visualizer is None:
            vis = getattr(runner, 'visualizer', None)
            self._visualizer = vis if isinstance(vis, SegLocalVisualizer) else \
                SegLocalVisualizer(name=f'seg_vis_hook_{id(self)}')
        self._visualizer.alpha = self.alpha
        loader = getattr(runner, loader_attr, None)
        dataset = getattr(loader, 'dataset', None)
        if dataset is not None and hasattr(dataset, 'metainfo'):
            self._visualizer.dataset_meta = dict(dataset.metainfo)
        return self._visualizer

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
                               out_file=osp.join(out_dir, name))

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence[DataSample]] = None) -> None:
        if not self.draw or batch_idx % self.interval or not outputs:
            return
        vis = self._get_visualizer(runner, 'val_dataloader')
        sample = outputs[0]
        img = mmcv.imread(sample.img_path, channel_order='rgb')
        vis.add_datasample(f'val_{osp.basename(sample.img_path)}', img, sample,
                           draw_gt=True, draw_pred=True, step=runner.iter)
