"""Training-engine pieces: safe checkpoint loading, atomic checkpoint writes, hooks, optimizer
wrappers, the tools' runtime set-up and the benchmark package.

Importing this package changes nothing in mmengine: :func:`register_all_modules` (called by
the tools and ``segdet.apis.init_model``) installs segdet's checkpoint loader for local files
and makes mmengine's local storage backend write atomically.
"""
from .atomic_io import (AtomicLocalBackend, atomic_write_bytes, atomic_write_text,
                        install_atomic_local_backend)
from .checkpoint import (UnsafeCheckpointError, allowed_globals, install_safe_checkpoint_loader,
                         load_checkpoint_file, trust_checkpoints)
from .hooks import (CheckInvalidLossHook, CheckpointHook, DetVisualizationHook,
                    MemoryFormatHook, NonFiniteLossError, SegVisualizationHook,
                    SkippedSamplesHook, TargetMetricStopHook, TrainBenchmarkHook,
                    VisualizationHook)
from .optimizers import AmpOptimWrapper
from .setup_env import register_all_modules

__all__ = [
    'AtomicLocalBackend', 'atomic_write_bytes', 'atomic_write_text',
    'install_atomic_local_backend', 'UnsafeCheckpointError', 'allowed_globals',
    'install_safe_checkpoint_loader', 'load_checkpoint_file', 'trust_checkpoints',
    'CheckInvalidLossHook', 'CheckpointHook', 'DetVisualizationHook', 'MemoryFormatHook',
    'NonFiniteLossError', 'SegVisualizationHook', 'SkippedSamplesHook', 'TargetMetricStopHook',
    'TrainBenchmarkHook', 'VisualizationHook', 'AmpOptimWrapper', 'register_all_modules'
]
