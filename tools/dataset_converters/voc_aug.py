"""Convert SBD's class maps to PNG label maps and write VOC 2012's ``aug.txt`` / ``trainaug.txt``.

The "augmented" Pascal VOC training set adds the Semantic Boundaries Dataset (SBD, Hariharan et
al. 2011; ``benchmark_RELEASE/dataset/``) to VOC 2012. As mmsegmentation's
``tools/dataset_converters/voc_aug.py`` does, this tool

- converts every ``<aug_path>/dataset/cls/<name>.mat`` (a MATLAB struct ``GTcls`` whose
  ``Segmentation`` field is the (H, W) class map, 0 = background, 1..20 the VOC classes) to
  ``<out_dir>/<name>.png`` (default ``<devkit_path>/VOC2012/SegmentationClassAug``), and
- writes into ``<devkit_path>/VOC2012/ImageSets/Segmentation/``:
  ``aug.txt`` = (SBD train + SBD val) - (VOC train + VOC val), the images the configs' second
  training set reads from ``SegmentationClassAug`` (the first is VOC ``train.txt`` with
  ``SegmentationClass``), and ``trainaug.txt`` = (VOC train + SBD train + SBD val) - VOC val,
  the whole 10,582-image training set in one list. No image of VOC val is in either.

Reading ``.mat`` files needs scipy (``pip install scipy``; it is not a segdet requirement).

Example:
    python tools/dataset_converters/voc_aug.py data/VOCdevkit data/VOCdevkit/VOCaug --nproc 8
"""
import argparse
import os
import os.path as osp
import sys
from functools import partial
from typing import Callable, Iterable, Optional

import numpy as np
from mmengine.utils import mkdir_or_exist
from PIL import Image  # Pillow comes with matplotlib, a segdet requirement

from segdet.utils.progress import map_with_progress

#: Images in trainaug.txt for the official VOC 2012 + SBD release (mmseg checks this number).
OFFICIAL_TRAINAUG_LEN = 10582
NUM_CLASSES = 21  # background + 20 VOC classes
IGNORE_INDEX = 255
SEGMENTATION_LISTS = osp.join('VOC2012', 'ImageSets', 'Segmentation')


def mat_reader() -> tuple[Callable[[str], dict], type]:
    """scipy's ``loadmat`` and the exception it raises for a file it cannot read.

    Raises:
        ModuleNotFoundError: scipy is not installed; the message says how to install it.
    """
    try:
        from scipy.io import loadmat
        from scipy.io.matlab import MatReadError
    except ImportError:
        raise ModuleNotFoundError(
            "reading SBD's .mat class maps needs scipy, which segdet does not require: "
            "pip install scipy (or pip install -e '.[optional]')", name='scipy') from None
    return loadmat, MatReadError


def read_class_map(mat_file: str) -> np.ndarray:
    """The class map of one SBD ``cls/*.mat`` file.

    Args:
        mat_file: Path of a MATLAB file holding the struct ``GTcls`` with a ``Segmentation``
            field.

    Returns:
        np.ndarray: (H, W) uint8 class indices 0..20 (255 kept as ignore).

    Raises:
        ValueError: The file is not a MATLAB file, or the map is not 2-D or holds other values.
        KeyError: No ``GTcls`` variable or no ``Segmentation`` field.
    """
    loadmat, mat_read_error = mat_reader()
    try:
        data = loadmat(mat_file)
    except (mat_read_error, ValueError, TypeError) as err:
        raise ValueError(f'{mat_file}: not a readable MATLAB file ({err})') from None
    if 'GTcls' not in data:
        found = sorted(k for k in data if not k.startswith('__'))
        raise KeyError(f'{mat_file}: no GTcls struct (an SBD dataset/cls/*.mat holds one; '
                       f'found {found})')
    gt = data['GTcls']
    if gt.dtype.names is None or 'Segmentation' not in gt.dtype.names:
        raise KeyError(f'{mat_file}: GTcls has no Segmentation field (fields: '
                       f'{list(gt.dtype.names or ())})')
    seg = np.asarray(gt[0]['Segmentation'][0])  # the 1x1 struct's field, as mmseg reads it
    if seg.ndim != 2:
        raise ValueError(f'{mat_file}: GTcls.Segmentation must be a 2-D class map, got shape '
                         f'{seg.shape}')
    values = np.unique(seg)
    bad = [v.item() for v in values
           if not (v in range(NUM_CLASSES) or v == IGNORE_INDEX)]  # 1.5 is not in range(21)
    if bad:
        raise ValueError(f'{mat_file}: GTcls.Segmentation holds {bad[:10]}, not VOC class '
                         f'indices 0..{NUM_CLASSES - 1} (or {IGNORE_INDEX})')
    return seg.astype(np.uint8)


def convert_mat(name: str, in_dir: str, out_dir: str) -> str:
    """Write ``<out_dir>/<name>.png`` from ``<in_dir>/<name>.mat``; returns the PNG's path."""
    out_file = osp.join(out_dir, name + '.png')
    Image.fromarray(read_class_map(osp.join(in_dir, name + '.mat'))).save(out_file)
    return out_file


def read_list(path: str) -> list[str]:
    """The image names of a split file, one per line (blank lines skipped)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such split file')
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def aug_lists(sbd: Iterable[str], voc_train: Iterable[str],
              voc_val: Iterable[str]) -> tuple[list[str], list[str]]:
    """The two lists mmseg writes, sorted.

    Args:
        sbd: SBD's train and val names.
        voc_train: VOC 2012 ``train.txt`` names.
        voc_val: VOC 2012 ``val.txt`` names.

    Returns:
        tuple: ``(aug, trainaug)``: ``aug`` = SBD - (VOC train + VOC val) and
        ``trainaug`` = (VOC train + SBD) - VOC val.
    """
    sbd, voc_train, voc_val = set(sbd), set(voc_train), set(voc_val)
    return sorted(sbd - voc_train - voc_val), sorted((voc_train | sbd) - voc_val)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert SBD's .mat class maps to PNG and write VOC 2012's aug.txt")
    parser.add_argument('devkit_path', help='VOCdevkit folder (holds VOC2012/)')
    parser.add_argument('aug_path', help="SBD's benchmark_RELEASE folder (holds dataset/cls/)")
    parser.add_argument('-o', '--out-dir', '--out_dir', dest='out_dir', help='where the PNGs '
                        'go (default: <devkit_path>/VOC2012/SegmentationClassAug)')
    parser.add_argument('--nproc', default=1, type=int, help='number of processes')
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[int, list[str], list[str]]:
    """Check the inputs, convert the maps and write the lists.

    Returns:
        tuple: ``(number of PNGs written, aug, trainaug)``.
    """
    mat_reader()  # fail before any work when scipy is missing
    in_dir = osp.join(args.aug_path, 'dataset', 'cls')
    if not osp.isdir(in_dir):
        raise FileNotFoundError(f'{in_dir}: no such folder (aug_path must be the SBD release '
                                "folder 'benchmark_RELEASE', which holds dataset/cls/*.mat)")
    list_dir = osp.join(args.devkit_path, SEGMENTATION_LISTS)
    sbd = [n for split in ('train', 'val')
           for n in read_list(osp.join(args.aug_path, 'dataset', f'{split}.txt'))]
    voc_train = read_list(osp.join(list_dir, 'train.txt'))
    voc_val = read_list(osp.join(list_dir, 'val.txt'))
    names = sorted(n[:-len('.mat')] for n in os.listdir(in_dir) if n.endswith('.mat'))
    if not names:
        raise FileNotFoundError(f'{in_dir}: no .mat file')
    aug, trainaug = aug_lists(sbd, voc_train, voc_val)
    missing = sorted(set(aug) - set(names))
    if missing:
        raise FileNotFoundError(f'{in_dir}: {len(missing)} images of SBD train/val have no '
                                f'.mat class map (first: {missing[:5]})')
    out_dir = args.out_dir or osp.join(args.devkit_path, 'VOC2012', 'SegmentationClassAug')
    mkdir_or_exist(out_dir)
    convert = partial(convert_mat, in_dir=in_dir, out_dir=out_dir)
    map_with_progress(convert, names, args.nproc)
    for name, lines in (('aug.txt', aug), ('trainaug.txt', trainaug)):
        with open(osp.join(list_dir, name), 'w', encoding='utf-8') as f:
            f.writelines(line + '\n' for line in lines)
    return len(names), aug, trainaug


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if args.nproc < 1:
        print(f'error: --nproc must be >= 1, got {args.nproc}', file=sys.stderr)
        return 2
    try:
        written, aug, trainaug = run(args)
    except (OSError, ImportError, KeyError, ValueError) as err:
        print(f'error: {err.args[0] if isinstance(err, KeyError) else err}', file=sys.stderr)
        return 1
    list_dir = osp.join(args.devkit_path, SEGMENTATION_LISTS)
    print(f'Wrote {written} PNG label maps; {list_dir}: aug.txt ({len(aug)} images), '
          f'trainaug.txt ({len(trainaug)})')
    if len(trainaug) != OFFICIAL_TRAINAUG_LEN:
        print(f'note: the official VOC 2012 + SBD release gives {OFFICIAL_TRAINAUG_LEN} '
              f'images in trainaug.txt, these lists {len(trainaug)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
