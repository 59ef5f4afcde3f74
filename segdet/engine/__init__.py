"""Training-engine pieces: safe checkpoint loading, atomic checkpoint writes, hooks, optimizer
wrappers, the tools' runtime set-up and the benchmark package.

Importing this package changes nothing in mmengine: :func:`register_all_modules` (called by
the tools and ``segdet.apis.init_model``) installs segdet's checkpoint loaders (local files;
``torchvision://``, ``open-mmlab://``, URLs through the torch hub cache) and ``Pretrained``
initializer, and makes mmengine's local storage backend write atomically.
"""
from .atomic_io import (AtomicLocalBackend, atomic_write_bytes, atomic_write_text,
                        install_atomic_local_backend)
from .checkpoint import (UnsafeCheckpointError, allowed_globals, install_safe_checkpoint_loader,
                         load_checkpoint_file, trust_checkpoints)
from .checkpoint_fit import (MAX_NOT_LOADED, CheckpointMismatchError, StateDictFit,
                             check_checkpoint_fits, state_dict_fit)
from .hooks import (CheckInvalidLossHook, CheckpointFitHook, CheckpointHook,
                    DetVisualizationHook, Fp32DepthwiseHook, FuseConvBNHook, MemoryFormatHook,
                    NonFiniteLossError,
                    SegVisualizationHook, SkippedSamplesHook, TargetMetricStopHook,
                    TrainBenchmarkHook, VisualizationHook, fold_eval_batchnorm,
                    keep_depthwise_fp32)
from .hub import (UnknownCheckpointNameError, WeightsNotAvailableError, cache_path, fetch,
                  install_hub_loaders, load_uri, local_checkpoint, resolve_url)
from .optimizers import AmpOptimWrapper
from .pretrained import (PretrainedInit, PretrainedRef, check_pretrained_available,
                         find_pretrained, without_pretrained)
from .setup_env import register_all_modules

__all__ = [
    'AtomicLocalBackend', 'atomic_write_bytes', 'atomic_write_text',
    'install_atomic_local_backend', 'UnsafeCheckpointError', 'allowed_globals',
    'install_safe_checkpoint_loader', 'load_checkpoint_file', 'trust_checkpoints',
    'MAX_NOT_LOADED', 'CheckpointMismatchError', 'StateDictFit', 'check_checkpoint_fits',
    'state_dict_fit', 'UnknownCheckpointNameError', 'WeightsNotAvailableError', 'cache_path',
    'fetch', 'install_hub_loaders', 'load_uri', 'local_checkpoint', 'resolve_url',
    'PretrainedInit', 'PretrainedRef', 'check_pretrained_available', 'find_pretrained',
    'without_pretrained', 'CheckInvalidLossHook', 'CheckpointFitHook', 'CheckpointHook',
    'DetVisualizationHook', 'Fp32DepthwiseHook', 'keep_depthwise_fp32', 'FuseConvBNHook',
    'fold_eval_batchnorm', 'MemoryFormatHook',
    'NonFiniteLossError', 'SegVisualizationHook',
    'SkippedSamplesHook', 'TargetMetricStopHook', 'TrainBenchmarkHook', 'VisualizationHook',
    'AmpOptimWrapper', 'register_all_modules'
]
