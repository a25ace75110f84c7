# UniMatch on the synthetic shapes dataset, 1/16 labels: the model, data
# files, geometry, optimiser, schedule (1,500 iterations), logging and
# seeds of configs/mean_teacher/synthetic_1-16.py, so the two compare
# directly. 4 labeled + 4 unlabeled (+ 4 mix) images per step; tau = 0.9
# as the mean-teacher config; UniMatch's loss weights, strong views, CutMix
# boxes and FP. Teacher-free: no MeanTeacherHook.
_base_ = [
    '../_base_/models/deeplabv3plus_r18-synthetic.py',
    './_base_/data_synthetic.py', '../_base_/schedules/semi_sgd_poly.py',
    '../_base_/default_runtime.py'
]
crop_size = (64, 64)
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='UniMatchSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(conf_thresh=0.9, mix_partner='same_image'),
    semi_test_cfg=dict(predict_on='student'))
# from scratch: a higher lr, and no x10 on the head (as mean_teacher)
optim_wrapper = dict(
    optimizer=dict(lr=0.05, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=1.))))
train_cfg = dict(
    _delete_=True,
    type='SemiIterBasedTrainLoop',
    max_iters=1500,
    val_interval=1500)
# pseudo-label pictures and per-class statistics, as the mean-teacher config
custom_hooks = [
    dict(type='PseudoLabelVisHook', interval=250, num_images=2),
    dict(type='PseudoLabelStatsHook', interval=100),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=1500, save_best='student/mIoU', rule='greater'))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
