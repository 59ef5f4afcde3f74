"""Benchmark a config: training s/iter or inference s/im, with peak memory.

    python tools/benchmark.py CONFIG [CHECKPOINT] --task train|inference [--shape H W]
        [--batch-size N] [--num-warmup 5] [--num-iters 20] [--repeat-times N] [--amp]
        [--[no-]channels-last] [--fuse-conv-bn] [--mode whole|slide --crop-size H W
        --stride H W] [--threads N] [--out FILE.json] [--cfg-options ...]

Segmentors and two-stage detectors (Faster/Mask R-CNN). With ``--shape`` the inputs are
random images of that size (no data set needed; for training, random label maps or a few
random boxes, labels and masks per image); otherwise batches come from the config's train
(train) or test (inference) data loader. Inference is reported end to end and split into
network + post-processing (see ``segdet.engine.benchmark.postprocess_methods``). ``--amp`` and
``--channels-last`` follow ``tools/train.py``: on a CPU without native bf16, ``--amp`` runs fp32
unless ``--amp-dtype bfloat16`` forces it.
"""
import argparse
import itertools
import logging
import json
import os.path as osp
import warnings
from typing import Iterator, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner, load_checkpoint

import segdet.engine  # noqa: F401  (safe checkpoint loader, hooks, AmpOptimWrapper)
from segdet.engine.benchmark import (benchmark_data, benchmark_inference, benchmark_train,
                                     fold_batchnorm, inference_flops, peak_memory_mb,
                                     random_det_batch, random_seg_batch)
from segdet.engine.hooks.memory_format_hook import to_memory_format
from segdet.engine.optimizers import autocast_enabled, inference_autocast
from segdet.registry import MODELS
from segdet.utils import (configure_runtime, enable_amp, load_config, prepare_tool_process,
                          registry_hints, resolve_channels_last)
from segdet.utils.benchmark import environment_info, format_table


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark training or inference speed')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='weights to load (default: random init)')
    parser.add_argument('--task', choices=['train', 'inference', 'data'], default='inference',
                        help='data: images/s of the train data loader with its workers')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='random inputs of this size instead of the data set')
    parser.add_argument('--batch-size', type=int,
                        help='default: the train loader\'s (train), 1 (inference)')
    parser.add_argument('--num-warmup', type=int, default=5, help='untimed iterations first')
    parser.add_argument('--num-iters', type=int, default=20, help='timed iterations')
    parser.add_argument('--repeat-times', type=int, default=1,
                        help='repeat the whole measurement (warm-up included) N times; report '
                        'the mean and standard deviation')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='inference: fold eval-mode BatchNorm into the preceding conv')
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
    return parser.parse_args()


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
    return cfg


def is_detector(cfg: Config) -> bool:
    """Two-stage detectors have an ``roi_head``; everything else is treated as a segmentor."""
    return 'roi_head' in cfg.model


def batch_size_of(cfg: Config, args: argparse.Namespace) -> int:
    """``--batch-size``, else the train loader's (train, data) or 1 (inference)."""
    if args.batch_size:
        return args.batch_size
    return cfg.train_dataloader.batch_size if args.task in ('train', 'data') else 1


def report(record: dict, columns: list, args: argparse.Namespace,
           table_only: Optional[dict] = None) -> None:
    """Print ``record`` (plus ``table_only`` cells) as a table; write ``record`` to ``--out``."""
    print(format_table([dict(record, **(table_only or {}))], columns,
                       title=osp.basename(args.config)))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(record, f, indent=2)


def batches(cfg: Config, args: argparse.Namespace) -> Iterator[dict]:
    """Endless batches: one random batch repeated (``--shape``) or the config's loader."""
    train = args.task in ('train', 'data')
    batch_size = batch_size_of(cfg, args)
    if args.shape and is_detector(cfg):
        roi_head = cfg.model.roi_head
        batch = random_det_batch(batch_size, tuple(args.shape), roi_head.bbox_head.num_classes,
                                 with_mask=roi_head.get('mask_head') is not None)
        return itertools.repeat(batch)
    if args.shape:
        batch = random_seg_batch(batch_size, tuple(args.shape),
                                 cfg.model.decode_head.get('num_classes', 2)
                                 if isinstance(cfg.model.decode_head, dict)
                                 else cfg.model.decode_head[-1]['num_classes'])
        return itertools.repeat(batch)
    key = 'train_dataloader' if train else 'test_dataloader'
    if key not in cfg:
        raise ValueError(f'{args.config} has no {key}; pass --shape H W for random inputs')
    loader_cfg = dict(cfg[key], batch_size=batch_size)
    loader = Runner.build_dataloader(loader_cfg)
    return itertools.chain.from_iterable(itertools.repeat(loader))


def main() -> None:
    prepare_tool_process()
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = build_cfg(args)
    if args.task == 'data':
        run_data_task(cfg, args)
        return
    channels_last = resolve_channels_last(cfg, args.channels_last, args.amp)
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(cfg.model)
        if args.checkpoint:
            load_checkpoint(model, args.checkpoint, map_location='cpu')
        elif hasattr(model, 'init_weights'):
            logger = MMLogger.get_current_instance()
            level = logger.level
            logger.setLevel(logging.WARNING)  # init_weights logs every parameter at INFO
            try:
                model.init_weights()
            finally:
                logger.setLevel(level)
        model.to(args.device)
        fused = None
        if args.fuse_conv_bn:
            if args.task == 'train':
                raise ValueError('--fuse-conv-bn is for --task inference (it folds eval-mode '
                                 'BatchNorm statistics)')
            fused = fold_batchnorm(model)
        if channels_last:
            to_memory_format(model, 'channels_last')
        device_type = 'cuda' if args.device.startswith('cuda') else 'cpu'
        data = batches(cfg, args)
        progress = not args.no_progress
        if args.task == 'train':
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
            amp_on = bool(getattr(optim_wrapper, 'enabled', False))
            runs = [benchmark_train(model, optim_wrapper, data, args.num_warmup,
                                    args.num_iters, args.device, progress)
                    for _ in range(args.repeat_times)]
        else:
            amp_on = args.amp and autocast_enabled(args.amp_dtype, device_type)
            context = inference_autocast(device_type, args.amp_dtype) if args.amp else None
            runs = [benchmark_inference(model, data, args.num_warmup, args.num_iters,
                                        args.device, context, progress)
                    for _ in range(args.repeat_times)]
        result = combine_repeats(runs, batch_size_of(cfg, args), args.task)
        if args.task == 'inference':
            # Detectors: the RoI heads depend on the proposals, so no single traced network.
            whole = cfg.model.get('test_cfg', {}).get('mode', 'whole') == 'whole'
            if not args.no_flops and whole and not is_detector(cfg):
                result['flops_per_image'] = inference_flops(model, next(data))
    if args.amp and not amp_on:
        warnings.warn('--amp: no autocast on this device (no native bf16); figures are fp32')
    batch_size = batch_size_of(cfg, args)
    record = dict(config=args.config, task=args.task, shape=args.shape, batch_size=batch_size,
                  amp=args.amp, autocast=amp_on, amp_dtype=args.amp_dtype,
                  channels_last=channels_last, fuse_conv_bn=args.fuse_conv_bn,
                  fused_batchnorms=fused, device=args.device,
                  test_cfg=None if is_detector(cfg) else dict(cfg.model.get('test_cfg') or {}),
                  flush_denormal=bool(cfg.env_cfg.get('flush_denormal', True))
                  and args.device == 'cpu',
                  peak_memory_mb=peak_memory_mb(args.device), **result)
    if args.task == 'inference':
        if record.get('flops_per_image'):
            record['gflops_per_image'] = record['flops_per_image'] / 1e9
            record['achieved_gflops_per_s'] = record['gflops_per_image'] / record['s_per_image']
    record['environment'] = environment_info()
    unit = 's/iter' if args.task == 'train' else 's/im'
    value = record['s_per_iter'] if args.task == 'train' else record['s_per_image']
    columns = [('task', 'task', str), (unit, 'value', '.4f')]
    if args.repeat_times > 1:
        columns.append(('std', 'std', '.4f'))
    if args.task == 'inference':
        columns += [('network', 'network_s_per_image', '.4f'),
                    ('+ post', 'postprocess_s_per_image', '.4f'),
                    ('= sum', 'network_plus_postprocess_s_per_image', '.4f')]
    std = record['s_per_iter_std'] if args.task == 'train' else record['s_per_image_std']
    report(record, columns + [
        ('data s', 'data_time', '.4f'),
        ('batch', 'batch_size', 'd'), ('autocast', 'autocast', str),
        ('channels_last', 'channels_last', str), ('peak MiB', 'peak_memory_mb', '.0f'),
        ('GFLOPs/im', 'gflops_per_image', '.1f'), ('GFLOP/s', 'achieved_gflops_per_s', '.1f')],
        args, table_only=dict(value=value, std=std))


def combine_repeats(runs: list[dict], batch_size: int, task: str) -> dict:
    """Means over ``--repeat-times`` runs (and their standard deviation); per image figures
    for inference; ``repeats`` keeps each run's summary, ``times`` every timed iteration."""
    def mean_std(values: list[float]) -> tuple[float, float]:
        t = torch.tensor(values, dtype=torch.float64)
        return t.mean().item(), (t.std().item() if len(values) > 1 else 0.0)
    keys = ['s_per_iter', 'data_time']
    if task == 'inference':
        keys += ['network_time', 'postprocess_time']
    summaries = [{k: run[k] for k in keys} for run in runs]
    if task == 'inference':
        for summary, run in zip(summaries, runs):
            summary['s_per_image'] = run['s_per_iter'] / batch_size
            summary['network_s_per_image'] = run['network_time'] / batch_size
            summary['postprocess_s_per_image'] = run['postprocess_time'] / batch_size
            summary['postprocess_parts_s_per_image'] = {
                k: v / batch_size for k, v in run['postprocess_parts'].items()}
        keys += ['s_per_image', 'network_s_per_image', 'postprocess_s_per_image']
    result = dict(warmup=runs[0]['warmup'], iters=runs[0]['iters'], repeat_times=len(runs),
                  repeats=summaries, times=[t for run in runs for t in run['times']])
    for key in keys:
        result[key], result[key + '_std'] = mean_std([s[key] for s in summaries])
    if task == 'inference':
        result['network_plus_postprocess_s_per_image'] = (
            result['network_s_per_image'] + result['postprocess_s_per_image'])
        result['postprocess_parts_s_per_image'] = {
            k: sum(s['postprocess_parts_s_per_image'][k] for s in summaries) / len(runs)
            for k in summaries[0]['postprocess_parts_s_per_image']}
        result['network_times'] = [t for run in runs for t in run['network_times']]
        result['postprocess_times'] = [t for run in runs for t in run['postprocess_times']]
    return result


def run_data_task(cfg: Config, args: argparse.Namespace) -> None:
    """Images per second of the train data loader (its pipeline and workers), no model."""
    if args.shape:
        raise ValueError('--task data measures the config\'s train data loader; drop --shape')
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        data = batches(cfg, args)
        batch_size = batch_size_of(cfg, args)
        result = benchmark_data(data, batch_size, args.num_warmup, args.num_iters,
                                not args.no_progress)
    record = dict(config=args.config, task='data', batch_size=batch_size,
                  num_workers=cfg.train_dataloader.get('num_workers', 0), **result,
                  environment=environment_info())
    report(record, [('task', 'task', str), ('img/s', 'img_per_s', '.1f'),
                    ('s/batch', 's_per_batch', '.4f'), ('batch', 'batch_size', 'd'),
                    ('workers', 'num_workers', 'd')], args)


if __name__ == '__main__':
    main()
