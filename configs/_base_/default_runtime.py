# Runtime settings shared by every segdet config: registry scope, environment, logging and
# visualisation. Experiment configs list this file in their `_base_`.
default_scope = 'segdet'
env_cfg = dict(
    cudnn_benchmark=True,
    # 'fork' keeps data-loader start-up cheap; OpenCV threads would oversubscribe the workers.
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # NCCL on GPUs; tools/train.py switches to gloo when there is no CUDA.
    dist_cfg=dict(backend='nccl'),
    # CPU runs flush denormals to zero (random-weight detectors are up to 6x slower without).
    flush_denormal=True,
)
vis_backends = [dict(type='LocalVisBackend')]
# mmseg's name for segdet's LocalVisualizer: draws what a sample holds, label maps in the data
# set's palette here (SegVisualizationHook, tools/test.py --show-dir).
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# Training guards: stop at the first NaN/inf loss (naming the iteration and the loss term,
# before a bad state can be checkpointed); count samples skipped by `skip_bad_samples=True`.
# TrainBenchmarkHook: memory in every log line, mean s/iter and peak memory at the end.
custom_hooks = [
    dict(type='CheckInvalidLossHook', interval=1),
    dict(type='SkippedSamplesHook'),
    dict(type='TrainBenchmarkHook', warmup=5),
]
# tools/test.py --tta wraps the model in this (as mmseg's default_runtime); the views come from
# the data set base's tta_pipeline (docs/model_zoo.md, "Test-time augmentation").
tta_model = dict(type='SegTTAModel')
