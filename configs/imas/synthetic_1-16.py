# iMAS on the synthetic shapes dataset, 1/16 labels, ResNet-18 DeepLabV3+ from
# scratch, CPU-sized; same model, data, optimiser and schedule as
# configs/mean_teacher/synthetic_1-16.py and configs/supervised/
# synthetic_1-16.py, so the three are directly comparable.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-synthetic.py',
    '../_base_/datasets/semi_synthetic.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (64, 64)
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='IMASSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        conf_thresh=0.9,
        unsup_weight=3.0,
        adaptive_loss=True,
        adaptive_intensity=True,
        adaptive_cutmix=True,
        hardness_strategy='imas',
        ignore_background=True,
        cutmix=dict(prob=0.5, v_range=(0.1, 0.9))),
    semi_test_cfg=dict(predict_on='teacher'))
# from scratch: a higher lr, and no x10 on the head
optim_wrapper = dict(
    optimizer=dict(lr=0.05, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=1.))))
train_cfg = dict(
    _delete_=True,
    type='SemiIterBasedTrainLoop',
    max_iters=1500,
    val_interval=1500)
# official train_semi.py (sup_only_epoch = 0, `epoch > sup_only_epoch`): the
# teacher is a copy of the student for the first of 80 epochs, then EMA. Here
# the same 1/80 of the schedule (1,500 / 80 = 19 iterations); one whole
# unlabeled epoch would be a quarter of this short CPU schedule.
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.99,
        skip_buffers=False,
        copy_iters=19),
    dict(type='HardnessLoggerHook', flush_interval=20),
    # pseudo-label pictures every 250 iterations and per-class statistics
    # every 100 (vis_data/vis_image, scalars.json; see
    # docs/watching_a_run.md)
    dict(type='PseudoLabelVisHook', interval=250, num_images=2),
    dict(type='PseudoLabelStatsHook', interval=100),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=1500, save_best='teacher/mIoU', rule='greater'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
