"""Benchmark a config: training s/iter or inference s/im, with peak memory.

    python tools/benchmark.py CONFIG [CHECKPOINT] --task train|inference [--shape H W]
        [--batch-size N] [--num-warmup 5] [--num-iters 20] [--amp] [--[no-]channels-last]
        [--threads N] [--out FILE.json] [--cfg-options ...]

With ``--shape`` the inputs are random images of that size (no data set needed); otherwise
batches come from the config's train (train) or test (inference) data loader. ``--amp`` and
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
                                     inference_flops, peak_memory_mb, random_seg_batch)
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
    return cfg


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
        if channels_last:
            to_memory_format(model, 'channels_last')
        device_type = 'cuda' if args.device.startswith('cuda') else 'cpu'
        data = batches(cfg, args)
        progress = not args.no_progress
        if args.task == 'train':
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
            amp_on = bool(getattr(optim_wrapper, 'enabled', False))
            result = benchmark_train(model, optim_wrapper, data, args.num_warmup,
                                     args.num_iters, args.device, progress)
        else:
            amp_on = args.amp and autocast_enabled(args.amp_dtype, device_type)
            context = inference_autocast(device_type, args.amp_dtype) if args.amp else None
            result = benchmark_inference(model, data, args.num_warmup, args.num_iters,
                                         args.device, context, progress)
            if not args.no_flops and cfg.model.get('test_cfg', {}).get('mode', 'whole') == 'whole':
                result['flops_per_image'] = inference_flops(model, next(data))
    if args.amp and not amp_on:
        warnings.warn('--amp: no autocast on this device (no native bf16); figures are fp32')
    batch_size = batch_size_of(cfg, args)
    record = dict(config=args.config, task=args.task, shape=args.shape, batch_size=batch_size,
                  amp=args.amp, autocast=amp_on, amp_dtype=args.amp_dtype,
                  channels_last=channels_last, device=args.device,
                  flush_denormal=bool(cfg.env_cfg.get('flush_denormal', True))
                  and args.device == 'cpu',
                  peak_memory_mb=peak_memory_mb(args.device), **result)
    if args.task == 'inference':
        record['s_per_image'] = record['s_per_iter'] / batch_size
        if record.get('flops_per_image'):
            record['gflops_per_image'] = record['flops_per_image'] / 1e9
            record['achieved_gflops_per_s'] = record['gflops_per_image'] / record['s_per_image']
    record['environment'] = environment_info()
    unit = 's/iter' if args.task == 'train' else 's/im'
    value = record['s_per_iter'] if args.task == 'train' else record['s_per_image']
    report(record, [
        ('task', 'task', str), (unit, 'value', '.4f'), ('data s', 'data_time', '.4f'),
        ('batch', 'batch_size', 'd'), ('autocast', 'autocast', str),
        ('channels_last', 'channels_last', str), ('peak MiB', 'peak_memory_mb', '.0f'),
        ('GFLOPs/im', 'gflops_per_image', '.1f'), ('GFLOP/s', 'achieved_gflops_per_s', '.1f')],
        args, table_only=dict(value=value))


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
