"""Training-engine pieces: safe checkpoint loading, hooks and optimizer wrappers.

Importing this package registers segdet's checkpoint loader for local files in mmengine.
"""
from .checkpoint import (UnsafeCheckpointError, allowed_globals, load_checkpoint_file,
                         trust_checkpoints)
from .hooks import SegVisualizationHook
from .optimizers import AmpOptimWrapper

__all__ = ['UnsafeCheckpointError', 'allowed_globals', 'load_checkpoint_file',
           'trust_checkpoints', 'AmpOptimWrapper', 'SegVisualizationHook']
