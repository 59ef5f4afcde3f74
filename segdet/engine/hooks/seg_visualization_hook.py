"""Write prediction overlays during validation/testing (``tools/test.py --show-dir``)."""
import os
import os.path as osp
from typing import Optional, Sequence

import mmcv
from mmengine.hooks import Hook

from segdet.registry import HOOKS
from segdet.structures import DataSample
from segdet.visualization import overlay_sem_seg


@HOOKS.register_module()
class SegVisualizationHook(Hook):
    """Save ``pred_sem_seg`` drawn over the input image, one PNG per test image.

    Args:
        draw: Whether to draw at all.
        interval: Draw every ``interval``-th test iteration.
        show_dir: Output directory (relative paths go under the run's work dir).
        alpha: Weight of the label colours.
    """

    priority = 'NORMAL'

    def __init__(self, draw: bool = False, interval: int = 1, show_dir: Optional[str] = None,
                 alpha: float = 0.5) -> None:
        self.draw = draw
        self.interval = interval
        self.show_dir = show_dir
        self.alpha = alpha

    def _out_dir(self, runner) -> str:
        out = self.show_dir or 'vis'
        if not osp.isabs(out):
            out = osp.join(runner.work_dir, out)
        os.makedirs(out, exist_ok=True)
        return out

    def _draw(self, runner, batch_idx: int, outputs: Sequence[DataSample]) -> None:
        if not self.draw or batch_idx % self.interval:
            return
        out_dir = self._out_dir(runner)
        palette = (runner.test_dataloader.dataset.metainfo.get('palette')
                   if hasattr(runner, '_test_dataloader') else None)
        for sample in outputs:
            img = mmcv.imread(sample.img_path)
            pred = sample.pred_sem_seg.data[0].cpu().numpy()
            drawn = overlay_sem_seg(img, pred, palette, self.alpha)
            name = osp.splitext(osp.basename(sample.img_path))[0] + '.png'
            mmcv.imwrite(drawn, osp.join(out_dir, name))

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, batch_idx, outputs or [])
