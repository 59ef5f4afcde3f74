# Runtime settings shared by every segdet config: registry scope, environment, logging and
# visualisation. Experiment configs list this file in their `_base_`.
default_scope = 'segdet'
env_cfg = dict(
    cudnn_benchmark=True,
    # 'fork' keeps data-loader start-up cheap; OpenCV threads would oversubscribe the workers.
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
# mmengine's generic Visualizer until segdet ships its own segmentation visualizer.
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
