"""Evaluate a checkpoint:
``python tools/test.py CONFIG CHECKPOINT [--mode whole|slide] [--tta] [--no-fuse-conv-bn]``.

BatchNorm is folded into the preceding convolutions before testing unless ``--no-fuse-conv-bn``
(:class:`segdet.engine.hooks.FuseConvBNHook`; the log gives the number folded)."""
import argparse
import os
import os.path as osp
import warnings
from typing import Any

import torch

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import segdet.engine
from segdet.engine.compile import compile_options
from segdet.engine.hub import local_checkpoint
from segdet.engine.optimizers import NO_NATIVE_BF16, bf16_is_emulated
from segdet.engine.runtime import (configure_runtime, init_cpu_distributed,
                                   prepare_tool_process)
from segdet.models.segmentors import BaseSegmentor
from segdet.registry import MODELS
from segdet.utils import apply_tta, check_work_dir, load_config, registry_hints


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a segdet model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file, or its URL (downloaded once into '
                        'the torch hub cache, $TORCH_HOME/hub/checkpoints)')
    parser.add_argument('--mode', choices=['whole', 'slide'],
                        help='inference mode (default: the config\'s model.test_cfg.mode)')
    parser.add_argument('--crop-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='slide-mode crop size')
    parser.add_argument('--stride', type=int, nargs=2, metavar=('H', 'W'),
                        help='slide-mode stride')
    parser.add_argument('--batch-size', type=int, help='slide-mode crops per forward pass')
    parser.add_argument('--work-dir', help='directory for logs and the metric JSON')
    parser.add_argument('--out', help='directory to write predictions into: label PNGs '
                        '(segmentation) or COCO results results.bbox.json / results.segm.json '
                        '/ results.keypoints.json (CocoMetric)')
    parser.add_argument('--show-dir', help='directory to write prediction overlays into')
    parser.add_argument('--show-gt', action=argparse.BooleanOptionalAction, default=True,
                        help='--show-dir images are [ground truth | prediction] when the test '
                        'pipeline loads annotations (default, as mmseg/mmdet); '
                        '--no-show-gt: the prediction alone')
    parser.add_argument('--score-thr', type=float,
                        help='--show-dir: draw predicted instances scoring above this '
                        '(default: the visualizer\'s, 0.3)')
    parser.add_argument('--tta', action='store_true',
                        help='test-time augmentation: wrap the model in the config\'s '
                        '`tta_model` and test on its `tta_pipeline` (segmentation: multi-scale '
                        '+ flip, probabilities averaged; detection: flip, boxes re-NMSed); '
                        '--cfg-options img_ratios=[...] sets the scales')
    parser.add_argument('--fuse-conv-bn', action=argparse.BooleanOptionalAction, default=True,
                        help='fold every BatchNorm that follows a conv into that conv before '
                        'testing (default; same predictions up to float rounding, faster); '
                        'SyncBN and GN are kept. --no-fuse-conv-bn: test the model as built')
    parser.add_argument('--amp', action='store_true', help='run inference under autocast')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the network (segmentors: encode_decode; detectors: '
                        'extract_feat) before testing; the first iteration compiles. Options: '
                        '--cfg-options compile.mode=max-autotune etc.')
    parser.add_argument('--channels-last', action=argparse.BooleanOptionalAction, default=None,
                        help='model and inputs in channels_last (default: the config\'s '
                        '`channels_last`, else on where --amp runs bf16 on a CPU and in fp32 on '
                        'CPUs with AVX-512)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load the checkpoint with full unpickling (only for trusted files)')
    parser.add_argument('--allow-partial-checkpoint', action='store_true',
                        help='evaluate even when more than 10%% of the model\'s tensors are '
                        'missing from the checkpoint or of another shape (default: an error, '
                        'as the checkpoint is probably of another config)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.batch_size=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def is_segmentor(model_type: Any) -> bool:
    """Whether ``model.type`` is a segmentor; True when it cannot be looked up here (the Runner
    then names the unknown type)."""
    try:
        cls = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    except Exception:  # noqa: BLE001 - e.g. a scope whose package is not installed
        return True
    return not isinstance(cls, type) or issubclass(cls, BaseSegmentor)


def apply_inference_mode(cfg: Config, args: argparse.Namespace) -> None:
    """Write ``--mode/--crop-size/--stride/--batch-size`` into ``cfg.model.test_cfg``.

    Raises:
        ValueError: Slide mode or one of its options is given for a model that is not a
            segmentor (a detector reads none of them and would silently test on whole
            images), or slide mode lacks a crop size or stride.
    """
    given = (['--mode slide'] if args.mode == 'slide' else []) + [
        f'--{name.replace("_", "-")}' for name in ('crop_size', 'stride', 'batch_size')
        if getattr(args, name)]
    model_type = cfg.model.get('type')
    if given and not is_segmentor(model_type):
        raise ValueError(
            f'{", ".join(given)}: sliding-window inference is for segmentors, but the model of '
            f'{cfg.filename} is {model_type!r}, which would ignore it and test on whole images '
            f'(resized by the test pipeline); drop the option(s)')
    test_cfg = dict(cfg.model.get('test_cfg') or {})
    if args.mode:
        test_cfg['mode'] = args.mode
    if args.crop_size:
        test_cfg['crop_size'] = tuple(args.crop_size)
    if args.stride:
        test_cfg['stride'] = tuple(args.stride)
    if args.batch_size:
        test_cfg['batch_size'] = args.batch_size
    if test_cfg.get('mode') == 'slide':
        missing = [k for k in ('crop_size', 'stride') if k not in test_cfg]
        if missing:
            flags = ' and '.join('--' + m.replace('_', '-') for m in missing)
            raise ValueError(f'--mode slide needs {flags}'
                             f' (the config {cfg.filename} has no model.test_cfg.{missing[0]})')
    cfg.model.test_cfg = test_cfg


def build_cfg(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir, '--work-dir' if args.work_dir else 'work dir')
    configure_runtime(cfg, args.launcher, amp=args.amp, channels_last=args.channels_last,
                      inference=True)
    apply_inference_mode(cfg, args)
    if args.tta:
        apply_tta(cfg, (args.cfg_options or {}).get('img_ratios'))
    # Every cheap check above runs before a URL checkpoint is fetched (cache or download).
    cfg.load_from = local_checkpoint(args.checkpoint)
    if args.fuse_conv_bn:  # on before_test, after the checkpoint is loaded
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(type='FuseConvBNHook')]
    # --compile, with the config's `compile` dict as torch.compile options when it has one
    options = compile_options(cfg.get('compile') or True) if args.compile else None
    if options is not None:  # after folding and the memory format (hook priorities)
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='CompileHook', options=options)]
    if not args.allow_partial_checkpoint:  # a checkpoint of another model is an error
        hooks = list(cfg.get('custom_hooks') or [])
        cfg.custom_hooks = hooks + [dict(type='CheckpointFitHook')]
    if args.out:
        evaluators = (cfg.test_evaluator if isinstance(cfg.test_evaluator, list)
                      else [cfg.test_evaluator])
        for evaluator in evaluators:
            if evaluator.get('type') == 'CocoMetric':
                evaluator['outfile_prefix'] = osp.join(args.out, 'results')
            else:
                evaluator['output_dir'] = args.out
    if args.show_dir:
        cfg.default_hooks = cfg.get('default_hooks') or {}
        cfg.default_hooks['visualization'] = dict(
            type='VisualizationHook', draw=True, interval=1, show_dir=args.show_dir,
            draw_gt=args.show_gt, score_thr=args.score_thr)
    if args.amp:
        if bf16_is_emulated('cuda' if torch.cuda.is_available() else 'cpu'):
            warnings.warn(f'--amp: {NO_NATIVE_BF16}; testing in fp32.')
        else:
            cfg.test_cfg = dict(cfg.get('test_cfg') or dict(type='TestLoop'), fp16=True)
    return cfg


def main() -> None:
    prepare_tool_process()
    args = parse_args()
    # Safe checkpoint loader; the Runner sets the default scope.
    segdet.engine.register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    if args.trust_checkpoint or cfg.get('trust_checkpoint'):
        segdet.engine.trust_checkpoints(True)
    init_cpu_distributed(args.launcher, cfg)
    with registry_hints(cfg):
        runner = Runner.from_cfg(cfg)
        runner.test()


if __name__ == '__main__':
    main()
