"""Multiply-adds, FLOPs and parameters of a config's model for one input of a given size.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W] [--cfg-options ...]

Counts come from ``mmengine.analysis.FlopAnalyzer`` (a trace of one forward pass): it counts one
multiply-add as one "flop", which is what mmsegmentation/mmdetection tables call GFLOPs. This
tool prints that number as GMACs and, beside it, GFLOPs = 2 x GMACs (the convention of
segdet's speed figures). A segmentor is measured from the input tensor to its logits
(``_forward``: backbone, neck, heads), without pre- or post-processing.
"""
import argparse
import os
import sys

sys.path.insert(0, os.getcwd())

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from segdet.engine import register_all_modules  # noqa: E402
from segdet.engine.benchmark import count_flops, format_table  # noqa: E402
from segdet.registry import MODELS  # noqa: E402
from segdet.utils import load_config, registry_hints, revert_sync_bn_cfg  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Count MACs, FLOPs and parameters')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs='+', default=[512, 1024],
                        help='input H W (one value: square); default 512 1024')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def model_complexity(model: torch.nn.Module, shape: tuple[int, int]) -> dict:
    """MACs, FLOPs (2 x MACs) and parameters of ``model`` on one (1, 3, H, W) input."""
    x = torch.zeros(1, 3, *shape)
    fn = model._forward if hasattr(model, '_forward') else None
    model.eval()
    counted = count_flops(model, x, fn=fn)
    return dict(shape=list(shape), macs=counted.macs, flops=counted.flops,
                params=sum(p.numel() for p in model.parameters()),
                unsupported_ops=counted.unsupported_ops)


def main(argv=None) -> dict:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    shape = tuple(args.shape * 2 if len(args.shape) == 1 else args.shape)
    if len(shape) != 2:
        raise ValueError(f'--shape takes H W (or one size), got {args.shape}')
    cfg = load_config(args.config, args.cfg_options)
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(revert_sync_bn_cfg(cfg.model))
    result = model_complexity(model, shape)
    print(format_table([dict(result, gmacs=result['macs'] / 1e9, gflops=result['flops'] / 1e9,
                             mparams=result['params'] / 1e6, size=f'{shape[0]}x{shape[1]}')],
                       [('input', 'size', str), ('GMACs', 'gmacs', '.3f'),
                        ('GFLOPs (2 x MACs)', 'gflops', '.3f'), ('params (M)', 'mparams', '.3f')],
                       title=os.path.basename(args.config)))
    if result['unsupported_ops']:
        print(f'not counted (no FLOP rule): {result["unsupported_ops"]}')
    return result


if __name__ == '__main__':
    main()
