"""Write what the training pipeline feeds the model, with the ground truth drawn on it.

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR [--num 20]
        [--split train|val|test] [--opacity 0.5] [--cfg-options ...]

Each PNG shows the transformed image (after resizing, crops, flips, photometric distortion) on
the left and the same image with its ground truth drawn on the right:
- semantic segmentation: the label map in the data set's palette (unlabeled pixels, 255, are
  left as they are);
- detection / instance segmentation: each instance's box, class name and (when the pipeline
  loads them) mask in its class colour; ignored instances (COCO ``iscrowd``) get a grey box
  captioned "ignored".
"""
import argparse
import os
import sys
from typing import Optional, Sequence

sys.path.insert(0, os.getcwd())

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

from segdet.datasets import build_split_dataset  # noqa: E402
from segdet.utils import load_config  # noqa: E402
from segdet.visualization import overlay_instances, overlay_sem_seg  # noqa: E402

IGNORED_BGR = (128, 128, 128)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Browse a data set through its pipeline')
    parser.add_argument('config')
    parser.add_argument('--output-dir', required=True)
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--num', type=int, default=20, help='how many samples to write')
    parser.add_argument('--opacity', type=float, default=0.5)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def draw_ignored(image: np.ndarray, bboxes: np.ndarray) -> np.ndarray:
    """Grey box outlines captioned "ignored" over ``image`` (H, W, 3) BGR, in place."""
    h, w = image.shape[:2]
    for x1, y1, x2, y2 in np.asarray(bboxes, np.float64).reshape(-1, 4).round().astype(int):
        x1, x2 = (int(np.clip(v, 0, w - 1)) for v in (x1, x2))
        y1, y2 = (int(np.clip(v, 0, h - 1)) for v in (y1, y2))
        cv2.rectangle(image, (x1, y1), (x2, y2), IGNORED_BGR, 1)
        cv2.putText(image, 'ignored', (x1 + 2, max(y1 - 2, 8)), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                    IGNORED_BGR, 1, cv2.LINE_AA)
    return image


def render(sample: dict, palette: Optional[Sequence[Sequence[int]]], opacity: float,
           classes: Optional[Sequence[str]] = None) -> np.ndarray:
    """[transformed image | image with its ground truth drawn], (H, 2W, 3) BGR uint8.

    Draws ``gt_sem_seg`` (label map in ``palette``) or ``gt_instances`` (boxes, class names in
    ``classes``, masks) and ``ignored_instances``; a sample with neither is returned alone.
    """
    img = sample['inputs'].permute(1, 2, 0).numpy().astype(np.uint8).copy()  # BGR as loaded
    data_sample = sample['data_samples']
    if 'gt_sem_seg' in data_sample:
        labels = data_sample.gt_sem_seg.data[0].numpy()
        drawn = overlay_sem_seg(img, labels, palette, alpha=opacity)
    elif 'gt_instances' in data_sample:
        gt = data_sample.gt_instances
        masks = gt.masks.numpy().astype(bool) if 'masks' in gt else None
        drawn = overlay_instances(img, gt.bboxes.numpy(), gt.labels.numpy(), masks=masks,
                                  classes=classes, palette=palette, alpha=opacity,
                                  line_width=1)
        if 'ignored_instances' in data_sample and 'bboxes' in data_sample.ignored_instances:
            draw_ignored(drawn, data_sample.ignored_instances.bboxes.numpy())
    else:
        return img
    return np.concatenate([img, drawn], axis=1)


def main(argv=None) -> list[str]:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_split_dataset(cfg, args.split)
    os.makedirs(args.output_dir, exist_ok=True)
    palette = dataset.metainfo.get('palette')
    count = min(args.num, len(dataset))
    bar = ProgressBar(count)
    written = []
    for i in range(count):
        sample = dataset[i]
        name = os.path.splitext(os.path.basename(sample['data_samples'].img_path))[0]
        path = os.path.join(args.output_dir, f'{i:05d}_{name}.png')
        image = render(sample, palette, args.opacity, dataset.metainfo.get('classes'))
        if not cv2.imwrite(path, image):
            raise OSError(f'cannot write {path}')
        written.append(path)
        bar.update()
    sys.stdout.write(f'\nwrote {len(written)} images to {args.output_dir}\n')
    return written


if __name__ == '__main__':
    main()
