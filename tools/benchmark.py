"""Benchmark a config: training s/iter or inference s/im, with peak memory.

    python tools/benchmark.py CONFIG [CHECKPOINT] --task train|inference [--shape H [W]]
        [--batch-size N] [--num-warmup 5] [--num-iters 20] [--repeat-times N] [--amp]
        [--[no-]channels-last] [--no-fuse-conv-bn] [--compile] [--mode whole|slide --crop-size H W
        --stride H W] [--threads N] [--out FILE.json] [--cfg-options ...]

Segmentors and two-stage detectors (Faster/Mask R-CNN). With ``--shape`` the inputs are
random images of that size (no data set needed; for training, random label maps or a few
random boxes, labels and masks per image); otherwise batches come from the config's train
(train) or test (inference) data loader. The table and the JSON (``input_shapes``) give the
size the network actually ran on, after the data preprocessor's padding. Inference is
reported end to end and split into network + post-processing (see
``segdet.engine.benchmark.postprocess_methods``). ``--amp`` and ``--channels-last`` follow
``tools/train.py`` (training) and ``tools/test.py`` (inference: channels_last also in fp32 on
CPUs with AVX-512): on a CPU without native bf16, ``--amp`` runs fp32 unless
``--amp-dtype bfloat16`` forces it.
"""
import argparse
import os.path as osp
import warnings
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope

import segdet.engine
from segdet.engine.compile import compile_for_inference, compile_options
from segdet.engine.benchmark import (DATA_TASK_COLUMNS, add_flop_rates, benchmark_batches,
                                     benchmark_data, build_benchmark_model, default_batch_size,
                                     environment_info, flops_countable, format_shapes,
                                     headline, is_detector, model_task_columns,
                                     peak_memory_mb, print_report, run_model_benchmark)
from segdet.engine.runtime import (configure_runtime, enable_amp, prepare_tool_process,
                                   resolve_channels_last, resolve_fp32_depthwise)
from segdet.utils import load_config, registry_hints


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (the error names the value)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text!r} is not a positive size')
    return value


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark training or inference speed')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='weights to load (default: random init; '
                        'the config\'s pre-trained backbone is not loaded either)')
    parser.add_argument('--task', choices=['train', 'inference', 'data'], default='inference',
                        help='data: images/s of the train data loader with its workers')
    parser.add_argument('--shape', type=positive_int, nargs='+', metavar='SIZE',
                        help='H [W]: random inputs of this size (one value: square) instead '
                        'of the data set')
    parser.add_argument('--batch-size', type=int,
                        help='default: the train loader\'s (train), 1 (inference)')
    parser.add_argument('--num-warmup', type=int, default=5, help='untimed iterations first')
    parser.add_argument('--num-iters', type=int, default=20, help='timed iterations')
    parser.add_argument('--repeat-times', type=int, default=1,
                        help='repeat the whole measurement (warm-up included) N times; report '
                        'the mean and standard deviation')
    parser.add_argument('--fuse-conv-bn', action=argparse.BooleanOptionalAction, default=None,
                        help='inference: fold eval-mode BatchNorm into the preceding conv, as '
                        'tools/test.py does (default: on for inference; never in training)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the training step (train) or the network '
                        '(inference: encode_decode / extract_feat) first; the compile time is '
                        'reported apart (the first warm-up iteration, less a timed one)')
    parser.add_argument('--mode', choices=['whole', 'slide'],
                        help='segmentation inference mode (default: model.test_cfg.mode)')
    parser.add_argument('--crop-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='slide-mode crop size')
    parser.add_argument('--stride', type=int, nargs=2, metavar=('H', 'W'),
                        help='slide-mode stride')
    parser.add_argument('--amp', action='store_true', help='autocast as tools/train.py --amp')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'],
                        help='force this autocast dtype (default: fp16 on CUDA, bf16 on a CPU '
                        'with native bf16, none otherwise)')
    parser.add_argument('--channels-last', action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads on CPU')
    parser.add_argument('--out', help='write the figures and the environment as JSON')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--no-flops', action='store_true',
                        help='inference: skip counting the network\'s FLOPs (a JIT trace)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.shape is not None:
        if len(args.shape) > 2:
            parser.error(f'argument --shape: takes H [W], got {len(args.shape)} values '
                         f'{" ".join(map(str, args.shape))}')
        args.shape = args.shape * 2 if len(args.shape) == 1 else args.shape
    return args


def build_cfg(args: argparse.Namespace) -> Config:
    cfg = load_config(args.config, args.cfg_options)
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {args.checkpoint}')
    if args.amp and args.task == 'train':
        enable_amp(cfg, args.amp_dtype)
    elif args.amp and args.amp_dtype and 'optim_wrapper' in cfg:
        cfg.optim_wrapper.dtype = args.amp_dtype  # read by the channels_last default
    configure_runtime(cfg, 'none', amp=args.amp, channels_last=False)  # model converted below
    if args.mode or args.crop_size or args.stride:
        if is_detector(cfg):
            raise ValueError('--mode/--crop-size/--stride are for segmentors; '
                             f'{args.config} is a detector')
        test_cfg = dict(cfg.model.get('test_cfg') or {})
        for key in ('mode', 'crop_size', 'stride'):
            if getattr(args, key):
                test_cfg[key] = args.mode if key == 'mode' else tuple(getattr(args, key))
        if test_cfg.get('mode') == 'slide':
            missing = [k for k in ('crop_size', 'stride') if k not in test_cfg]
            if missing:
                raise ValueError(f"--mode slide needs --{missing[0].replace('_', '-')} "
                                 f'({args.config} has no model.test_cfg.{missing[0]})')
        cfg.model.test_cfg = test_cfg
    if args.repeat_times < 1:
        raise ValueError(f'--repeat-times must be >= 1, got {args.repeat_times}')
    if args.fuse_conv_bn and args.task != 'inference':
        raise ValueError(f'--fuse-conv-bn is for --task inference, not {args.task} (it folds '
                         'eval-mode BatchNorm statistics)')
    if args.compile and args.task == 'data':
        raise ValueError('--compile is for --task train or inference (--task data runs no model)')
    if args.compile and args.num_warmup < 1:
        raise ValueError('--compile needs --num-warmup >= 1: the first iteration compiles, and '
                         'timing it would measure the compiler')
    if args.fuse_conv_bn is None:  # as tools/test.py: folded for inference, never in training
        args.fuse_conv_bn = args.task == 'inference'
    return cfg


def compile_model(model: torch.nn.Module, task: str, options: Optional[dict] = None) -> str:
    """``torch.compile`` what ``task`` runs: ``train_step`` (as mmengine's ``cfg.compile``)
    or the network method of inference; returns the compiled method's name."""
    if task == 'train':
        model.train_step = torch.compile(model.train_step, **(options or {}))
        return 'train_step'
    return compile_for_inference(model, options)


def main(argv: Optional[Sequence[str]] = None) -> None:
    prepare_tool_process()
    args = parse_args(argv)
    segdet.engine.register_all_modules(init_default_scope=False)  # the safe checkpoint loader
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = build_cfg(args)
    batch_size = default_batch_size(cfg, args.task, args.batch_size)
    if args.task == 'data':
        run_data_task(cfg, args, batch_size)
        return
    channels_last = resolve_channels_last(cfg, args.channels_last, args.amp,
                                          inference=args.task == 'inference')
    fp32_depthwise = args.device == 'cpu' and resolve_fp32_depthwise(cfg, args.amp)
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        model, fused = build_benchmark_model(cfg, args.checkpoint, args.device,
                                             args.fuse_conv_bn, channels_last, fp32_depthwise)
        # torch.compile options: the config's `compile` dict (e.g. --cfg-options
        # compile.mode=max-autotune), else the defaults
        compiled = (compile_model(model, args.task, compile_options(cfg.get('compile')))
                    if args.compile else None)
        result = run_model_benchmark(
            model, args.task, benchmark_batches(cfg, args.task, batch_size, args.shape,
                                                args.config),
            batch_size, args.num_warmup, args.num_iters, args.repeat_times, args.device,
            cfg.get('optim_wrapper'), args.amp, args.amp_dtype,
            # a JIT trace does not go through a compiled method
            flops=not args.no_flops and not args.compile and flops_countable(cfg),
            progress=not args.no_progress)
    if compiled is not None:
        result['compiled'] = compiled
        result['compile_s'] = result['warmup_times'][0] - result['s_per_iter']
    autocast = result.pop('autocast')
    if args.amp and not autocast:
        warnings.warn('--amp: no autocast on this device (no native bf16); figures are fp32')
    if args.shape and result['input_shapes'] != [args.shape]:
        warnings.warn(f'--shape {format_shapes([args.shape])}: the network ran on '
                      f'{format_shapes(result["input_shapes"])} (the data preprocessor pads or '
                      'resizes); the figures are for that size')
    record = dict(config=args.config, task=args.task, shape=args.shape, batch_size=batch_size,
                  amp=args.amp, autocast=autocast, amp_dtype=args.amp_dtype,
                  channels_last=channels_last, fp32_depthwise=fp32_depthwise,
                  fuse_conv_bn=args.fuse_conv_bn,
                  compile=args.compile,
                  fused_batchnorms=fused, device=args.device,
                  test_cfg=None if is_detector(cfg) else dict(cfg.model.get('test_cfg') or {}),
                  flush_denormal=bool(cfg.env_cfg.get('flush_denormal', True))
                  and args.device == 'cpu',
                  peak_memory_mb=peak_memory_mb(args.device), **result)
    if args.task == 'inference':
        add_flop_rates(record)
    record['environment'] = environment_info()
    print_report(record, model_task_columns(args.task, args.repeat_times, args.compile),
                 osp.basename(args.config), args.out, table_only=headline(record))


def run_data_task(cfg: Config, args: argparse.Namespace, batch_size: int) -> None:
    """Images per second of the train data loader (its pipeline and workers), no model."""
    if args.shape:
        raise ValueError('--task data measures the config\'s train data loader; drop --shape')
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        data = benchmark_batches(cfg, 'data', batch_size, config_name=args.config)
        result = benchmark_data(data, batch_size, args.num_warmup, args.num_iters,
                                not args.no_progress)
    record = dict(config=args.config, task='data', batch_size=batch_size,
                  num_workers=cfg.train_dataloader.get('num_workers', 0), **result,
                  environment=environment_info())
    print_report(record, DATA_TASK_COLUMNS, osp.basename(args.config), args.out)


if __name__ == '__main__':
    main()
