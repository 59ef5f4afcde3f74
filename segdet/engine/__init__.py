"""Training-engine pieces: safe checkpoint loading, atomic checkpoint writes, hooks and
optimizer wrappers.

Importing this package registers segdet's checkpoint loader for local files in mmengine and
makes mmengine's local storage backend write atomically.
"""
from .atomic_io import (AtomicLocalBackend, atomic_write_bytes, atomic_write_text,
                        install_atomic_local_backend)
from .checkpoint import (UnsafeCheckpointError, allowed_globals, load_checkpoint_file,
                         trust_checkpoints)
from .hooks import (CheckInvalidLossHook, CheckpointHook, MemoryFormatHook, NonFiniteLossError,
                    SegVisualizationHook, SkippedSamplesHook, TargetMetricStopHook,
                    TrainBenchmarkHook)
from .optimizers import AmpOptimWrapper

install_atomic_local_backend()

__all__ = [
    'AtomicLocalBackend', 'atomic_write_bytes', 'atomic_write_text',
    'install_atomic_local_backend', 'UnsafeCheckpointError', 'allowed_globals',
    'load_checkpoint_file', 'trust_checkpoints', 'CheckInvalidLossHook', 'CheckpointHook',
    'MemoryFormatHook', 'NonFiniteLossError', 'SegVisualizationHook', 'SkippedSamplesHook', 'TargetMetricStopHook',
    'TrainBenchmarkHook', 'AmpOptimWrapper'
]
