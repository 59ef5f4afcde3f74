# Runtime settings of the detection configs (mmdetection's default_runtime): epoch-based
# logging, no cuDNN autotuning (input sizes vary from batch to batch), instance drawing.
# Standalone rather than inheriting default_runtime.py so that experiment configs stay within
# three levels of inheritance.
default_scope = 'segdet'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
    flush_denormal=True,
)
vis_backends = [dict(type='LocalVisBackend')]
# mmdet's name for segdet's LocalVisualizer: draws boxes, class names, scores and masks
# (DetVisualizationHook, tools/test.py --show-dir).
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
custom_hooks = [
    dict(type='CheckInvalidLossHook', interval=1),
    dict(type='SkippedSamplesHook'),
    dict(type='TrainBenchmarkHook', warmup=5),
]
