# mmsss components live in the mmseg registries.
default_scope = 'mmseg'
custom_imports = dict(imports=['mmsss'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = dict(type='SegTTAModel')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # CheckpointHook writing to a temporary name, then renaming
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # model num_classes vs dataset classes, before anything runs
    num_classes_check=dict(type='NumClassesCheckHook'),
    # random states in checkpoints, per-iteration and per-sample seeds:
    # a resumed run ends where the uninterrupted one ends (docs/train_test.md,
    # "Resume and reproducibility"); the rank is in the per-iteration seed
    # where the method's official code draws per GPU (rank_seed=None: the
    # model's iteration_seed_per_rank)
    random_state=dict(type='RandomStateHook'))
randomness = dict(seed=0)
