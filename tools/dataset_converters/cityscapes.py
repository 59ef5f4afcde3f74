"""Make Cityscapes' ``*_labelTrainIds.png`` maps and the ``train/val/test.txt`` split lists.

Reads the released layout ``<cityscapes_path>/<gt-dir>/<split>/<city>/`` and, for every frame,
writes ``<frame>_gtFine_labelTrainIds.png`` next to its annotation (19 training classes 0..18,
255 = ignore), as mmsegmentation's ``tools/dataset_converters/cityscapes.py`` does:

- from ``*_gtFine_polygons.json`` through ``cityscapesscripts``' ``json2labelImg(..., 'trainIds')``
  when that package is installed, else through segdet's own rasteriser, which draws the same
  polygons with the same library (Pillow's ``ImageDraw.polygon``), in the file's order (later
  polygons over earlier ones), with the official label table (``LABELS``): a name unknown to the
  table but ending in ``group`` (``cargroup``) is drawn as the name without it (``car``), deleted
  objects and ``license plate`` (id -1) are not drawn, and an unknown name is an error;
- from ``*_gtFine_labelIds.png`` through the same table when a frame has no polygon file.

``<out-dir>/{train,val,test}.txt`` (default out-dir: ``cityscapes_path``) list the frames of each
split folder, one ``<city>/<city>_<seq>_<frame>`` per line, sorted.

Example:
    python tools/dataset_converters/cityscapes.py data/cityscapes --nproc 8
"""
import argparse
import difflib
import json
import os
import os.path as osp
import sys
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np
from mmengine.utils import mkdir_or_exist
from PIL import Image, ImageDraw  # Pillow comes with matplotlib, a segdet requirement

from segdet.utils.progress import map_with_progress

POLYGONS_SUFFIX = '_polygons.json'
LABEL_IDS_SUFFIX = '_labelIds.png'
TRAIN_IDS_SUFFIX = '_labelTrainIds.png'
SPLITS = ('train', 'val', 'test')
IGNORE_INDEX = 255


class CityscapesLabel(NamedTuple):
    """One row of the official label table (``cityscapesscripts/helpers/labels.py``)."""

    name: str
    id: int  # the value in *_labelIds.png; -1: never drawn
    train_id: int  # the value in *_labelTrainIds.png; 255: ignored in training


#: The 34 Cityscapes labels with an id (0..33) and ``license plate`` (id -1), as released.
LABELS = (
    CityscapesLabel('unlabeled', 0, 255),
    CityscapesLabel('ego vehicle', 1, 255),
    CityscapesLabel('rectification border', 2, 255),
    CityscapesLabel('out of roi', 3, 255),
    CityscapesLabel('static', 4, 255),
    CityscapesLabel('dynamic', 5, 255),
    CityscapesLabel('ground', 6, 255),
    CityscapesLabel('road', 7, 0),
    CityscapesLabel('sidewalk', 8, 1),
    CityscapesLabel('parking', 9, 255),
    CityscapesLabel('rail track', 10, 255),
    CityscapesLabel('building', 11, 2),
    CityscapesLabel('wall', 12, 3),
    CityscapesLabel('fence', 13, 4),
    CityscapesLabel('guard rail', 14, 255),
    CityscapesLabel('bridge', 15, 255),
    CityscapesLabel('tunnel', 16, 255),
    CityscapesLabel('pole', 17, 5),
    CityscapesLabel('polegroup', 18, 255),
    CityscapesLabel('traffic light', 19, 6),
    CityscapesLabel('traffic sign', 20, 7),
    CityscapesLabel('vegetation', 21, 8),
    CityscapesLabel('terrain', 22, 9),
    CityscapesLabel('sky', 23, 10),
    CityscapesLabel('person', 24, 11),
    CityscapesLabel('rider', 25, 12),
    CityscapesLabel('car', 26, 13),
    CityscapesLabel('truck', 27, 14),
    CityscapesLabel('bus', 28, 15),
    CityscapesLabel('caravan', 29, 255),
    CityscapesLabel('trailer', 30, 255),
    CityscapesLabel('train', 31, 16),
    CityscapesLabel('motorcycle', 32, 17),
    CityscapesLabel('bicycle', 33, 18),
    CityscapesLabel('license plate', -1, -1),
)
NAME_TO_LABEL = {label.name: label for label in LABELS}


def id_to_train_id_table() -> np.ndarray:
    """The label id -> train id lookup table.

    Returns:
        np.ndarray: (256,) int16; ``table[id]`` is the train id of a label id 0..33 and -1 for
        the values that are no Cityscapes label id.
    """
    table = np.full(256, -1, dtype=np.int16)
    for label in LABELS:
        if label.id >= 0:
            table[label.id] = label.train_id
    return table


def resolve_label(name: str, source: str) -> CityscapesLabel:
    """The table row of an object's label, as ``json2labelImg`` finds it.

    Args:
        name: The object's ``label`` in the polygon file (e.g. 'car', 'cargroup').
        source: Where the name comes from, for the error message.

    Returns:
        CityscapesLabel: The row of ``name``, or of ``name`` without a trailing 'group' when
        only that is in the table.

    Raises:
        KeyError: Neither is in the table.
    """
    if name not in NAME_TO_LABEL and name.endswith('group'):
        name = name[:-len('group')]
    if name not in NAME_TO_LABEL:
        close = difflib.get_close_matches(name, list(NAME_TO_LABEL), n=3)
        hint = f'; closest: {", ".join(map(repr, close))}' if close else ''
        raise KeyError(f'{source}: unknown Cityscapes label {name!r} (the label table has '
                       f'{len(LABELS)} names; <name>group means <name>){hint}')
    return NAME_TO_LABEL[name]


def is_point(value: Any) -> bool:
    """Whether ``value`` is an ``[x, y]`` pair of numbers."""
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))


def read_polygons(json_file: str) -> tuple[int, int, list[tuple[CityscapesLabel, list]]]:
    """Read and check a ``*_polygons.json``: size and the objects to draw, in file order.

    Args:
        json_file: Path of the polygon file.

    Returns:
        tuple: ``(width, height, objects)``; ``objects`` holds ``(label, [(x, y), ...])`` for
        every object that is drawn (not deleted, label id >= 0), in the file's order.

    Raises:
        ValueError: The file is not JSON, or a size or polygon is malformed.
        KeyError: ``imgWidth``, ``imgHeight``, ``objects`` or an object's ``label`` /
            ``polygon`` is missing, or a label is unknown.
    """
    try:
        with open(json_file, encoding='utf-8') as f:
            annotation = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{json_file}: not a JSON file ({err})') from None
    if not isinstance(annotation, dict):
        raise ValueError(f'{json_file}: expected a JSON object with imgWidth, imgHeight and '
                         f'objects, got {type(annotation).__name__}')
    for key in ('imgWidth', 'imgHeight', 'objects'):
        if key not in annotation:
            raise KeyError(f'{json_file}: no {key!r} key (a Cityscapes polygon file has '
                           f'imgWidth, imgHeight and objects; found {sorted(annotation)})')
    width, height = int(annotation['imgWidth']), int(annotation['imgHeight'])
    if width <= 0 or height <= 0:
        raise ValueError(f'{json_file}: image size {width}x{height} is not positive')
    objects = []
    for index, obj in enumerate(annotation['objects']):
        where = f'{json_file}: object {index}'
        for key in ('label', 'polygon'):
            if key not in obj:
                raise KeyError(f'{where} has no {key!r} key')
        label = resolve_label(str(obj['label']), where)
        if obj.get('deleted', 0) or label.id < 0:
            continue  # json2labelImg skips deleted objects and labels without an id
        points = obj['polygon']
        if (not isinstance(points, list) or len(points) < 2
                or not all(is_point(p) for p in points)):
            # Pillow (and so json2labelImg) cannot draw fewer than 2 points either.
            raise ValueError(f'{where} ({obj["label"]!r}): polygon must be a list of at least '
                             f'2 [x, y] points, got {str(points)[:80]}')
        objects.append((label, [(p[0], p[1]) for p in points]))
    return width, height, objects


def polygons_to_train_ids(json_file: str) -> np.ndarray:
    """Rasterise a polygon file into train ids, as ``json2labelImg(..., 'trainIds')`` does.

    Args:
        json_file: Path of a ``*_polygons.json``.

    Returns:
        np.ndarray: (imgHeight, imgWidth) uint8 train ids; 255 where no polygon is drawn.
    """
    width, height, objects = read_polygons(json_file)
    image = Image.new('L', (width, height), NAME_TO_LABEL['unlabeled'].train_id)
    drawer = ImageDraw.Draw(image)
    for label, points in objects:
        drawer.polygon(points, fill=label.train_id)  # later objects paint over earlier ones
    return np.asarray(image, dtype=np.uint8)


def label_ids_to_train_ids(label_ids: np.ndarray, source: str) -> np.ndarray:
    """Map a ``*_labelIds.png`` array to train ids through the label table.

    Args:
        label_ids: (H, W) integer label ids 0..33.
        source: The file the array comes from, for the error message.

    Returns:
        np.ndarray: (H, W) uint8 train ids 0..18 and 255.

    Raises:
        ValueError: The array is not 2-D or holds a value that is no Cityscapes label id.
    """
    if label_ids.ndim != 2:
        raise ValueError(f'{source}: a label id map has one channel, got shape '
                         f'{label_ids.shape}')
    values = np.unique(label_ids)
    table = id_to_train_id_table()
    unknown = [int(v) for v in values if not 0 <= v < 256 or table[v] < 0]
    if unknown:
        raise ValueError(f'{source}: values {unknown[:10]} are no Cityscapes label id (0..33)')
    return table[label_ids].astype(np.uint8)


def cityscapesscripts_converter() -> Optional[Callable[[str, str, str], Any]]:
    """``cityscapesscripts``' ``json2labelImg`` when the package can be imported, else None."""
    try:
        from cityscapesscripts.preparation.json2labelImg import json2labelImg
    except ImportError:
        return None
    return json2labelImg


def output_file(source: str) -> str:
    """``a_gtFine_polygons.json`` / ``a_gtFine_labelIds.png`` -> ``a_gtFine_labelTrainIds.png``."""
    for suffix in (POLYGONS_SUFFIX, LABEL_IDS_SUFFIX):
        if source.endswith(suffix):
            return source[:-len(suffix)] + TRAIN_IDS_SUFFIX
    raise ValueError(f'{source}: expected a file ending in {POLYGONS_SUFFIX} or '
                     f'{LABEL_IDS_SUFFIX}')


def convert_frame(source: str) -> str:
    """Write the train id map of one frame next to its annotation.

    Args:
        source: A ``*_polygons.json`` or, for a frame without one, its ``*_labelIds.png``.

    Returns:
        str: The path written, ``*_labelTrainIds.png``.
    """
    out_file = output_file(source)
    if source.endswith(POLYGONS_SUFFIX):
        # Checked here for both converters: json2labelImg exits the process on an unknown label.
        read_polygons(source)
        json2label = cityscapesscripts_converter()
        if json2label is not None:
            json2label(source, out_file, 'trainIds')
            return out_file
        train_ids = polygons_to_train_ids(source)
    else:
        try:
            label_ids = np.asarray(Image.open(source))
        except OSError as err:
            raise OSError(f'{source}: cannot read the label id map ({err})') from None
        train_ids = label_ids_to_train_ids(label_ids, source)
    Image.fromarray(train_ids).save(out_file)  # (H, W) uint8: mode 'L'
    return out_file


def find_sources(gt_dir: str) -> list[str]:
    """One annotation per frame under ``gt_dir``: its polygon file, else its ``labelIds`` PNG.

    Args:
        gt_dir: ``<cityscapes_path>/gtFine`` (searched recursively, links followed).

    Returns:
        list[str]: Sorted paths.
    """
    sources = []
    for folder, _, names in os.walk(gt_dir, followlinks=True):
        frames = {name[:-len(POLYGONS_SUFFIX)] for name in names if name.endswith(POLYGONS_SUFFIX)}
        sources += [osp.join(folder, f + POLYGONS_SUFFIX) for f in frames]
        sources += [osp.join(folder, name) for name in names if name.endswith(LABEL_IDS_SUFFIX)
                    and name[:-len(LABEL_IDS_SUFFIX)] not in frames]
    return sorted(sources)


def frame_name(source: str, split_dir: str) -> str:
    """The list entry of a frame: ``aachen/aachen_000000_000019`` for
    ``<split_dir>/aachen/aachen_000000_000019_gtFine_polygons.json``."""
    relative = osp.relpath(output_file(source), split_dir).replace(os.sep, '/')
    # Drop '_labelTrainIds.png' and the annotation kind ('_gtFine', '_gtCoarse').
    return relative[:-len(TRAIN_IDS_SUFFIX)].rsplit('_', 1)[0]


def write_split_lists(gt_dir: str, sources: Sequence[str], out_dir: str) -> dict[str, int]:
    """Write ``<out_dir>/<split>.txt`` for each split folder of ``gt_dir`` that exists.

    Args:
        gt_dir: The annotation root holding ``train``, ``val``, ``test``.
        sources: The frames' annotation files (:func:`find_sources`).
        out_dir: Where the lists go.

    Returns:
        dict[str, int]: Frames listed per split written.
    """
    counts = {}
    for split in SPLITS:
        split_dir = osp.join(gt_dir, split)
        if not osp.isdir(split_dir):
            continue
        prefix = split_dir + os.sep
        names = sorted(frame_name(s, split_dir) for s in sources if s.startswith(prefix))
        with open(osp.join(out_dir, f'{split}.txt'), 'w', encoding='utf-8') as f:
            f.writelines(name + '\n' for name in names)
        counts[split] = len(names)
    return counts


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert Cityscapes annotations to train ids (*_labelTrainIds.png) and '
        'write the split lists')
    parser.add_argument('cityscapes_path', help='Cityscapes root (holds gtFine/, leftImg8bit/)')
    parser.add_argument('--gt-dir', default='gtFine', help='annotation folder under the root')
    parser.add_argument('-o', '--out-dir', help='where {train,val,test}.txt go '
                        '(default: cityscapes_path); label maps go next to their annotations')
    parser.add_argument('--nproc', default=1, type=int, help='number of processes')
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if args.nproc < 1:
        print(f'error: --nproc must be >= 1, got {args.nproc}', file=sys.stderr)
        return 2
    gt_dir = osp.join(args.cityscapes_path, args.gt_dir)
    out_dir = args.out_dir or args.cityscapes_path
    try:
        if not osp.isdir(gt_dir):
            raise FileNotFoundError(f'{gt_dir}: no such folder (expected the released layout '
                                    f'<cityscapes_path>/{args.gt_dir}/<split>/<city>/)')
        sources = find_sources(gt_dir)
        if not sources:
            raise FileNotFoundError(f'{gt_dir}: no *{POLYGONS_SUFFIX} or *{LABEL_IDS_SUFFIX} '
                                    'file found (unpack gtFine_trainvaltest.zip there)')
        num_json = sum(s.endswith(POLYGONS_SUFFIX) for s in sources)
        how = ("cityscapesscripts' json2labelImg" if cityscapesscripts_converter() else
               "segdet's rasteriser (cityscapesscripts cannot be imported)")
        print(f'Converting {num_json} polygon files with {how} and '
              f'{len(sources) - num_json} labelIds maps through the label table')
        map_with_progress(convert_frame, sources, args.nproc)
        mkdir_or_exist(out_dir)
        counts = write_split_lists(gt_dir, sources, out_dir)
    except (OSError, KeyError, ValueError) as err:
        print(f'error: {err.args[0] if isinstance(err, KeyError) else err}', file=sys.stderr)
        return 1
    lists = ', '.join(f'{split}.txt ({n})' for split, n in counts.items()) or 'none'
    print(f'Wrote {len(sources)} *{TRAIN_IDS_SUFFIX} maps under {gt_dir}; split lists in '
          f'{out_dir}: {lists}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
