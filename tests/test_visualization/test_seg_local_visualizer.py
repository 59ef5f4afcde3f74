"""SegLocalVisualizer: palette colours, [gt | pred] panels, file and backend output."""
import cv2
import numpy as np
import torch
from mmengine.structures import PixelData

from segdet.structures import DataSample
from segdet.visualization import SegLocalVisualizer

PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]


def sample() -> DataSample:
    s = DataSample()
    gt = torch.zeros(1, 4, 6, dtype=torch.long)
    gt[:, :, 3:] = 1
    gt[0, 0, 0] = 255
    pred = torch.full((1, 4, 6), 2, dtype=torch.long)
    s.gt_sem_seg = PixelData(data=gt)
    s.pred_sem_seg = PixelData(data=pred)
    return s


def visualizer(tmp_path, name: str) -> SegLocalVisualizer:
    vis = SegLocalVisualizer(name=name, alpha=1.0, save_dir=str(tmp_path / 'vis'),
                             vis_backends=[dict(type='LocalVisBackend')])
    vis.dataset_meta = dict(classes=('bg', 'a', 'b'), palette=PALETTE)
    return vis


def test_panels_and_palette(tmp_path) -> None:
    vis = visualizer(tmp_path, 'seg_vis_panels')
    image = np.full((4, 6, 3), 7, np.uint8)
    out = tmp_path / 'drawn.png'
    drawn = vis.add_datasample('x', image, sample(), out_file=str(out))
    assert drawn.shape == (4, 12, 3)  # [gt | pred]
    gt_panel, pred_panel = drawn[:, :6], drawn[:, 6:]
    assert (gt_panel[1:, :3] == PALETTE[0]).all() and (gt_panel[:, 3:] == PALETTE[1]).all()
    assert (gt_panel[0, 0] == 7).all()  # ignore_index left unpainted
    assert (pred_panel == PALETTE[2]).all()
    assert np.array_equal(cv2.imread(str(out))[..., ::-1], drawn)  # written as BGR
    only_pred = vis.add_datasample('x', image, sample(), draw_gt=False, out_file=str(out))
    assert only_pred.shape == (4, 6, 3)


def test_backend_receives_images_without_out_file(tmp_path) -> None:
    vis = visualizer(tmp_path, 'seg_vis_backend')
    vis.add_datasample('val_img', np.zeros((4, 6, 3), np.uint8), sample(), step=3)
    written = list((tmp_path / 'vis').rglob('val_img*.png'))
    assert len(written) == 1 and '3' in written[0].name
