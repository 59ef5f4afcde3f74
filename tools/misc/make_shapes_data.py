"""Write the synthetic "shapes" data set (a Cityscapes-style PNG tree) under --root.

Safe to call every time: when the tree already holds the same parameters it prints so and
exits; a tree made with other parameters is only rewritten with --force.

Example:
    python tools/misc/make_shapes_data.py --root data/shapes
"""
import argparse
import sys
import time

from segdet.datasets.synthetic import inspect_tree, remove_tree, shapes_params, write_shapes_tree


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default='data/shapes', help='output directory')
    parser.add_argument('--num-train', type=int, default=400, help='images in the train split')
    parser.add_argument('--num-val', type=int, default=100, help='images in the val split')
    parser.add_argument('--size', type=int, default=128, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0, help='the same seed writes the same bytes')
    parser.add_argument(
        '--force', action='store_true',
        help='rewrite the tree even when --root holds one made with other parameters')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ('num_train', 'num_val', 'size'):
        if getattr(args, name) < (1 if name == 'size' else 0):
            print(f'error: --{name.replace("_", "-")} must be positive, got {getattr(args, name)}',
                  file=sys.stderr)
            return 2
    params = shapes_params(args.num_train, args.num_val, args.size, args.seed)
    state = inspect_tree(args.root, params)
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
        print(f'error: {args.root} holds {why}. Pass --force to rewrite it with {described}, '
              f'or choose another --root.', file=sys.stderr)
        return 1
    if state != 'absent':
        remove_tree(args.root)
    start = time.perf_counter()
    write_shapes_tree(args.root, args.num_train, args.num_val, args.size, args.seed,
                      show_progress=True)
    print(f'Wrote {described} to {args.root} in {time.perf_counter() - start:.1f} s.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
