"""Write what the training pipeline feeds the model, with the ground truth drawn on it.

    python tools/analysis_tools/browse_dataset.py CONFIG --output-dir DIR [--num 20]
        [--split train|val|test] [--opacity 0.5] [--cfg-options ...]

Each PNG shows the transformed image (after crops, flips, photometric distortion) with its
label map in the data set's palette on the right half; unlabeled pixels (255) are left as they
are.
"""
import argparse
import os
import sys

sys.path.insert(0, os.getcwd())

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

import segdet.datasets  # noqa: F401,E402
from segdet.registry import DATASETS  # noqa: E402
from segdet.utils import load_config, registry_hints  # noqa: E402
from segdet.visualization.seg_overlay import overlay_sem_seg  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Browse a data set through its pipeline')
    parser.add_argument('config')
    parser.add_argument('--output-dir', required=True)
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train')
    parser.add_argument('--num', type=int, default=20, help='how many samples to write')
    parser.add_argument('--opacity', type=float, default=0.5)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def render(sample: dict, palette, opacity: float) -> np.ndarray:
    """[transformed image | image with the label map drawn], (H, 2W, 3) BGR uint8."""
    img = sample['inputs'].permute(1, 2, 0).numpy().astype(np.uint8).copy()  # BGR as loaded
    data_sample = sample['data_samples']
    if 'gt_sem_seg' not in data_sample:
        return img
    labels = data_sample.gt_sem_seg.data[0].numpy()
    return np.concatenate([img, overlay_sem_seg(img, labels, palette, alpha=opacity)], axis=1)


def main(argv=None) -> list[str]:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    key = f'{args.split}_dataloader'
    if key not in cfg:
        raise ValueError(f'{args.config} has no {key}')
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        dataset = DATASETS.build(cfg[key].dataset)
    os.makedirs(args.output_dir, exist_ok=True)
    palette = dataset.metainfo.get('palette')
    count = min(args.num, len(dataset))
    bar = ProgressBar(count)
    written = []
    for i in range(count):
        sample = dataset[i]
        name = os.path.splitext(os.path.basename(sample['data_samples'].img_path))[0]
        path = os.path.join(args.output_dir, f'{i:05d}_{name}.png')
        if not cv2.imwrite(path, render(sample, palette, args.opacity)):
            raise OSError(f'cannot write {path}')
        written.append(path)
        bar.update()
    sys.stdout.write(f'\nwrote {len(written)} images to {args.output_dir}\n')
    return written


if __name__ == '__main__':
    main()
