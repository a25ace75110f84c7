# The three-stage method as the official code trains it on real data, shared
# by configs/three_stage/cityscapes_372.py and voc_aug_1-8.py (they add the
# dataset base, f_θ's crop size and classes, and their own numbers):
# DeepLabV2 ResNet-101 f_θ (ImageNet init, BN frozen as in the official
# code), Adam 3e-5 (backbone x0.1), constant lr. The top level is stage 1
# (f_θ alone, `stage1_iters` steps); `multitask` is the template of stages 2
# and 3 (`stage_iters` steps of f_θ + the pseudo-mask branch, λ1 =
# `lambda_con`, λ2 = `lambda_pl`, EMA decay 0.99 -> 0.995 -> 0.9975 -> 0.999
# after 20k, 40k, 50k steps); `stages` is what tools/train_stages.py runs.
_base_ = ['./models/deeplabv2_r101-d8.py', './default_runtime.py']
lambda_con, lambda_pl = 0.5, 0.5
stage1_iters, stage_iters = 20000, 60000
ema_decays = (0.99, 0.995, 0.9975, 0.999)
ema_milestones = (20000, 40000, 50000)
# frozen BN (official freeze_bn=True): pretrained statistics and affine
norm_cfg = dict(type='BN', requires_grad=False)
f_theta = _base_.model
f_theta.backbone.norm_cfg = norm_cfg
f_theta.backbone.norm_eval = True
model = f_theta
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=3e-5, weight_decay=0.),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=0.1))))
param_scheduler = []  # constant learning rate (official lr_sched='none')
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=stage1_iters, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the dataset config adds `segmentor` (f_θ with its crop size and classes),
# its preprocessor and the stage-2/3 `train_dataloader`
multitask = dict(
    model=dict(
        type='ThreeStageSegmentor',
        segmentor=f_theta,
        aux_branch=dict(type='hat', channel_ratio=0.5),
        data_preprocessor=dict(
            type='MultiBranchSegDataPreProcessor',
            data_preprocessor=f_theta.data_preprocessor),
        semi_train_cfg=dict(
            sup_weight=1.0,
            con_weight=lambda_con,
            pl_weight=lambda_pl,
            use_strong_aug=True),
        semi_test_cfg=dict(predict_on='teacher')),
    train_cfg=dict(
        type='IterBasedTrainLoop', max_iters=stage_iters, val_interval=5000),
    val_cfg=dict(type='TeacherStudentValLoop'),
    custom_hooks=[
        dict(
            type='MultiStepEMAHook',
            decays=ema_decays,
            milestones=ema_milestones)
    ])
stages = [
    dict(name='stage1'),
    dict(
        name='stage2',
        template='multitask',
        cfg_options={'model.aux_branch.type': 'hat'}),
    dict(
        name='stage3',
        template='multitask',
        cfg_options={'model.aux_branch.type': 'tilde'}),
]
# the dataset config adds the `dataset` the pseudo-masks are predicted on
pseudo_masks = dict(generator=dict(mode='argmax', flip=False, num_workers=4))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=5000, max_keep_ckpts=2))
