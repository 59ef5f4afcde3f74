"""Write the synthetic "shapes" data set (a Cityscapes-style PNG tree, or COCO) under --root.

Safe to call every time: when the tree already holds the same parameters it prints so and
exits; a tree made with other parameters is only rewritten with --force.

--format cityscapes (default) writes the semantic segmentation tree; --format coco writes the
same images with COCO instance annotations (root/{train,val}/*.png and
root/annotations/instances_{train,val}.json) for detection and instance segmentation;
--format keypoints writes them with COCO keypoint annotations of the rectangles and their four
corners (root/annotations/rectangle_keypoints_{train,val}.json) for keypoint detection.

Example:
    python tools/misc/make_shapes_data.py --root data/shapes
    python tools/misc/make_shapes_data.py --format coco --root data/shapes_coco
    python tools/misc/make_shapes_data.py --format keypoints --root data/shapes_keypoints
"""
import argparse
import os.path as osp
import sys
import time
from typing import Any, Callable, NamedTuple

from segdet.datasets.synthetic import (coco_params, inspect_coco_tree, inspect_keypoint_tree,
                                       inspect_tree, keypoint_params, read_meta,
                                       remove_coco_tree, remove_keypoint_tree, remove_tree,
                                       shapes_params, write_shapes_coco, write_shapes_keypoints,
                                       write_shapes_tree)


class TreeFormat(NamedTuple):
    """How to describe, inspect, remove and write the tree of one --format."""

    default_root: str
    params: Callable[..., dict[str, Any]]
    inspect: Callable[[str, dict[str, Any]], str]
    remove: Callable[[str], None]
    write: Callable[..., dict[str, Any]]


FORMATS = {
    'cityscapes': TreeFormat('data/shapes', shapes_params, inspect_tree, remove_tree,
                             write_shapes_tree),
    'coco': TreeFormat('data/shapes_coco', coco_params, inspect_coco_tree, remove_coco_tree,
                       write_shapes_coco),
    'keypoints': TreeFormat('data/shapes_keypoints', keypoint_params, inspect_keypoint_tree,
                            remove_keypoint_tree, write_shapes_keypoints),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--format', choices=sorted(FORMATS), default='cityscapes',
                        help='cityscapes: semantic label maps; coco: instance annotations; '
                        'keypoints: the rectangles and their corners (COCO keypoints)')
    parser.add_argument(
        '--root', default=None,
        help='output directory (default: ' +
        ', '.join(f'{fmt.default_root} for {name}' for name, fmt in FORMATS.items()) + ')')
    parser.add_argument('--num-train', type=int, default=400, help='images in the train split')
    parser.add_argument('--num-val', type=int, default=100, help='images in the val split')
    parser.add_argument('--size', type=int, default=128, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='the same seed writes the same bytes')
    parser.add_argument(
        '--force', action='store_true',
        help='rewrite the tree even when --root holds one made with other parameters')
    args = parser.parse_args(argv)
    if args.root is None:
        args.root = FORMATS[args.format].default_root
    return args


def existing_format(root: str) -> str | None:
    """The --format of the shapes tree under ``root`` per its meta.json, None when unknown."""
    meta = read_meta(root) if osp.isdir(root) else None
    if meta is None:
        return None
    # Cityscapes trees predate the 'format' key.
    found = meta.get('params', {}).get('format', 'cityscapes')
    return found if found in FORMATS else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ('num_train', 'num_val', 'size'):
        if getattr(args, name) < (1 if name == 'size' else 0):
            print(f'error: --{name.replace("_", "-")} must be positive, got {getattr(args, name)}',
                  file=sys.stderr)
            return 2
    fmt = FORMATS[args.format]
    params = fmt.params(args.num_train, args.num_val, args.size, args.seed)
    state = fmt.inspect(args.root, params)
    found = existing_format(args.root)
    described = (f'{args.num_train} train + {args.num_val} val images, '
                 f'{args.size}x{args.size}, seed {args.seed}')
    if state == 'same' and not args.force:
        print(f'{args.root} already holds the shapes data ({described}); nothing to do.')
        return 0
    if state in ('different', 'incomplete', 'foreign') and not args.force:
        why = {
            'different': 'a shapes tree made with other parameters (see its meta.json)',
            'incomplete': 'a shapes tree with the same parameters but missing files',
            'foreign': 'files but no meta.json (not a shapes tree, or an interrupted run)',
        }[state]
        if state == 'different' and found not in (None, args.format):
            why = f'a shapes tree in --format {found} (see its meta.json)'
        print(f'error: {args.root} holds {why}. Pass --force to rewrite it with {described}, '
              f'or choose another --root.', file=sys.stderr)
        return 1
    if state != 'absent':
        # Remove what the tree there is made of, so no files of the other format stay behind.
        FORMATS[found or args.format].remove(args.root)
    start = time.perf_counter()
    fmt.write(args.root, args.num_train, args.num_val, args.size, args.seed, show_progress=True)
    print(f'Wrote {described} to {args.root} in {time.perf_counter() - start:.1f} s.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
