"""Process and config set-up shared by segdet's command-line tools (train, test, benchmark)."""
import os
import sys
import warnings
from typing import Optional

import torch
from mmengine.config import Config

from segdet.engine.optimizers import autocast_enabled, resolve_amp_dtype
from segdet.utils import keep_freed_memory, revert_sync_bn_cfg


def prepare_tool_process() -> None:
    """Put the working directory on ``sys.path`` and, without CUDA, keep freed memory.

    Run from the repository root, configs' ``custom_imports`` (e.g. ``'projects.x.y'``) then
    resolve against it, as they would with ``python -m``; a script's ``sys.path[0]`` is its own
    folder instead. On a CPU run, :func:`keep_freed_memory` lets large freed tensors be reused
    instead of faulted in again.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if not torch.cuda.is_available():
        keep_freed_memory()


def enable_amp(cfg: Config, dtype: Optional[str] = None) -> None:
    """What ``--amp`` does to a config: ``optim_wrapper.type = 'AmpOptimWrapper'`` (dynamic loss
    scale unless the config sets one), and ``dtype`` when given.

    Raises:
        ValueError: the config has no ``optim_wrapper``, or one of another type (its behaviour
            would be silently replaced).
    """
    if 'optim_wrapper' not in cfg:
        raise ValueError(f'--amp needs an optim_wrapper; the config {cfg.filename} has none')
    current = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if current not in ('OptimWrapper', 'AmpOptimWrapper'):
        raise ValueError(f'--amp needs optim_wrapper.type OptimWrapper or AmpOptimWrapper, '
                         f'the config has {current!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if dtype:
        cfg.optim_wrapper.dtype = dtype


def resolve_channels_last(cfg: Config, flag: Optional[bool], amp: bool,
                          inference: bool = False) -> bool:
    """Whether to run channels_last: ``--[no-]channels-last``, else the config's
    ``channels_last``, else on where ``--amp`` (or an ``AmpOptimWrapper`` config) runs bf16
    autocast on a CPU, or, for inference alone, where the CPU runs fp32 convolutions faster
    in NHWC (:func:`fp32_nhwc_is_faster`).

    NHWC is oneDNN's native layout for bf16 on CPUs with AMX/AVX512-BF16. In fp32 it depends
    on the CPU: on an AVX2-only CPU it was slower than NCHW (docs/benchmarks.md, "Mixed
    precision and channels_last"); on an AVX512-BF16 EPYC fp32 inference of the R-50 models,
    HRNet and the detectors was up to 1.5x faster in NHWC and nowhere clearly slower
    ("Inference speed per CPU class"), while PSPNet R-50-D8's fp32 training step was slower:
    hence inference only.
    """
    if flag is not None:
        return flag
    if cfg.get('channels_last') is not None:
        return bool(cfg.channels_last)
    if cpu_autocast_dtype(cfg, amp) is not None:
        return True
    return inference and fp32_nhwc_is_faster()


def fp32_nhwc_is_faster() -> bool:
    """Whether fp32 inference defaults to channels_last: no CUDA, and ATen's CPU capability is
    AVX-512 (oneDNN's AVX-512 NHWC kernels; AMX CPUs included)."""
    if torch.cuda.is_available():
        return False
    capability = getattr(torch.backends.cpu, 'get_cpu_capability', lambda: '')()
    return capability.startswith('AVX512')


def cpu_autocast_dtype(cfg: Config, amp: bool) -> Optional[torch.dtype]:
    """The dtype training / testing autocasts to on a CPU, None when it does not: autocast
    needs ``--amp`` (or an ``AmpOptimWrapper`` config), no CUDA, and a CPU with native bf16
    unless the config's ``optim_wrapper.dtype`` asks for a dtype explicitly."""
    optim_wrapper = cfg.get('optim_wrapper') or {}
    amp = amp or optim_wrapper.get('type') == 'AmpOptimWrapper'  # e.g. the *-amp-* configs
    dtype = optim_wrapper.get('dtype')
    if not amp or torch.cuda.is_available() or not autocast_enabled(dtype, 'cpu'):
        return None
    return resolve_amp_dtype(dtype, 'cpu')


def resolve_fp32_depthwise(cfg: Config, amp: bool) -> bool:
    """Whether depthwise convolutions leave bf16 autocast (``Fp32DepthwiseHook``): where
    training / testing autocasts to bf16 on a CPU (:func:`cpu_autocast_dtype`), unless the
    config sets ``fp32_depthwise = False``."""
    return (bool(cfg.get('fp32_depthwise', True))
            and cpu_autocast_dtype(cfg, amp) == torch.bfloat16)


def configure_runtime(cfg: Config, launcher: str = 'none', amp: bool = False,
                      channels_last: Optional[bool] = None, inference: bool = False) -> None:
    """Adapt a resolved config to this machine and launcher, in place.

    - Not distributed: ``SyncBN`` becomes ``BN``. Distributed without CUDA: the process group
      uses gloo (NCCL needs GPUs), ``SyncBN`` becomes ``BN`` (PyTorch's SyncBatchNorm runs on
      GPUs only) with a warning, DDP is built without ``device_ids``, and
      ``SyncNormBuffersHook`` keeps the ranks' BN statistics equal.
    - Without CUDA, denormal floats are flushed to zero unless ``env_cfg.flush_denormal`` is
      False: CPUs can handle denormal arithmetic in slow microcode; where no denormals occur
      the flag costs nothing (docs/benchmarks.md, "Denormal flushing").
    - channels_last (see :func:`resolve_channels_last`; ``inference``: the run only tests)
      adds a ``MemoryFormatHook``.
    - bf16 autocast on a CPU adds a ``Fp32DepthwiseHook`` (see
      :func:`resolve_fp32_depthwise`).
    """
    cuda = torch.cuda.is_available()
    if launcher == 'none':
        cfg.model = revert_sync_bn_cfg(cfg.model)
    elif not cuda:
        env_cfg = cfg.setdefault('env_cfg', {})
        dist_cfg = env_cfg.setdefault('dist_cfg', {})
        if dist_cfg.get('backend', 'nccl') == 'nccl':
            dist_cfg['backend'] = 'gloo'
        reverted = revert_sync_bn_cfg(cfg.model)
        if reverted != cfg.model:
            warnings.warn('distributed run without CUDA: SyncBN replaced by BN (PyTorch '
                          'SyncBatchNorm needs GPUs); each process normalises its own batch')
        cfg.model = reverted
        wrapper = dict(cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel'))
        wrapper.setdefault('device_ids', None)  # mmengine would pass [LOCAL_RANK], a GPU index
        wrapper.setdefault('broadcast_buffers', False)
        cfg.model_wrapper_cfg = wrapper
        _add_hook(cfg, dict(type='SyncNormBuffersHook'))
    if not cuda and cfg.get('env_cfg', {}).get('flush_denormal', True):
        torch.set_flush_denormal(True)
    if resolve_channels_last(cfg, channels_last, amp, inference):
        _add_hook(cfg, dict(type='MemoryFormatHook', memory_format='channels_last'))
    if resolve_fp32_depthwise(cfg, amp):
        _add_hook(cfg, dict(type='Fp32DepthwiseHook'))


def _add_hook(cfg: Config, hook: dict) -> None:
    hooks = list(cfg.get('custom_hooks') or [])
    if not any(h.get('type') == hook['type'] for h in hooks):
        hooks.append(hook)
    cfg.custom_hooks = hooks


def init_cpu_distributed(launcher: str, cfg: Config) -> None:
    """Start the process group for a ``--launcher pytorch`` run on a machine without CUDA.

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device``, which fails without a GPU;
    once a group exists, the Runner uses it. The backend is ``env_cfg.dist_cfg.backend`` (gloo,
    see :func:`configure_runtime`); rank, world size and address come from torchrun's
    environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``).
    """
    import torch.distributed as dist
    if launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'--launcher {launcher} without CUDA: start CPU processes with '
                           'torchrun and --launcher pytorch (see docs/training.md)')
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
    dist.init_process_group(backend=backend)
