"""Train a model from a config: ``python tools/train.py CONFIG [--work-dir DIR] [--amp] [--compile]
[--resume [PATH]]``."""
import argparse
import os
import os.path as osp
import warnings

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import segdet.engine
from segdet.engine.runtime import (configure_runtime, enable_amp, init_cpu_distributed,
                                   prepare_tool_process)
from segdet.utils import check_work_dir, load_config, registry_hints


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segdet model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints '
                        '(default: ./work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from PATH, or from the latest checkpoint in the work dir '
                        'when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 + dynamic loss scaling on CUDA, bf16 on CPU')
    parser.add_argument('--channels-last', action=argparse.BooleanOptionalAction, default=None,
                        help='model and inputs in channels_last (default: the config\'s '
                        '`channels_last`, else on where --amp runs bf16 on a CPU)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the training step (mmengine\'s `compile` option; '
                        'the first iterations compile); validation stays eager')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load checkpoints with full unpickling (only for files you trust; '
                        'or set `trust_checkpoint = True` in the config)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args: argparse.Namespace) -> Config:
    """Resolve the config and apply the command-line options."""
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    check_work_dir(cfg.work_dir, '--work-dir' if args.work_dir else 'work dir')
    if args.amp:
        enable_amp(cfg)
    if args.compile and not cfg.get('compile'):
        cfg.compile = True  # the Runner compiles train_step
    configure_runtime(cfg, args.launcher, amp=args.amp, channels_last=args.channels_last)
    if args.resume == 'auto':
        # mmengine would log "Auto resumed from the latest checkpoint None" and start afresh.
        cfg.resume = osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint'))
        if not cfg.resume:
            warnings.warn(f'--resume: the work dir {cfg.work_dir} holds no checkpoint to resume '
                          f'from (no last_checkpoint file); training starts from iteration 0.')
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def check_weights_available(cfg: Config) -> None:
    """Pre-flight: the pre-trained weights the model names (and a ``load_from`` URL) are in the
    torch hub cache or download now; else stop in seconds with the URI, the URL, the cache path
    and the ``--cfg-options`` that train from scratch, before data loaders are built.

    Only the first process of a node checks; in the run itself rank 0 downloads first.
    """
    if os.environ.get('LOCAL_RANK', '0') != '0':
        return
    extra = ([segdet.engine.PretrainedRef('load_from', cfg.load_from)]
             if isinstance(cfg.get('load_from'), str) else [])
    segdet.engine.check_pretrained_available(cfg.model, extra=extra)


def main() -> None:
    prepare_tool_process()
    args = parse_args()
    # Safe checkpoint loader and atomic checkpoint writes; the Runner sets the default scope.
    segdet.engine.register_all_modules(init_default_scope=False)
    cfg = build_cfg(args)
    if args.trust_checkpoint or cfg.get('trust_checkpoint'):
        segdet.engine.trust_checkpoints(True)
    check_weights_available(cfg)
    init_cpu_distributed(args.launcher, cfg)
    with registry_hints(cfg):
        runner = Runner.from_cfg(cfg)
        runner.train()


if __name__ == '__main__':
    main()
