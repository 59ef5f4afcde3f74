"""Hooks: crash-safe checkpoints, training guards, early stop at a target, visualisation."""
from .checkpoint_fit_hook import CheckpointFitHook
from .checkpoint_hook import CheckpointHook
from .compile_hook import CompileHook
from .invalid_loss_hook import CheckInvalidLossHook, NonFiniteLossError, non_finite_terms
from .fp32_depthwise_hook import Fp32DepthwiseHook, keep_depthwise_fp32
from .fuse_conv_bn_hook import FuseConvBNHook, fold_eval_batchnorm
from .memory_format_hook import MemoryFormatHook
from .skipped_samples_hook import SkippedSamplesHook, skipped_in_batch
from .sync_norm_buffers_hook import SyncNormBuffersHook, all_reduce_float_buffers
from .train_benchmark_hook import TrainBenchmarkHook
from .target_metric_stop_hook import TargetMetricStopHook, targets_reached
from .visualization_hook import DetVisualizationHook, SegVisualizationHook, VisualizationHook

__all__ = [
    'CheckpointFitHook', 'CheckpointHook', 'CheckInvalidLossHook', 'CompileHook', 'FuseConvBNHook',
    'fold_eval_batchnorm', 'Fp32DepthwiseHook', 'keep_depthwise_fp32', 'NonFiniteLossError',
    'non_finite_terms', 'MemoryFormatHook', 'SegVisualizationHook', 'SkippedSamplesHook', 'skipped_in_batch',
    'SyncNormBuffersHook', 'all_reduce_float_buffers', 'TargetMetricStopHook', 'targets_reached',
    'TrainBenchmarkHook', 'VisualizationHook', 'DetVisualizationHook'
]
