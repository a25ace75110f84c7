# The three-stage method as the official code trains it on real data, shared
# by configs/three_stage/cityscapes_372.py and voc_aug_1-8.py (they add the
# dataset base, f_θ's crop size and classes, and their own numbers):
# DeepLabV2 ResNet-101 f_θ (ImageNet init, BN frozen as in the official
# code), Adam 3e-5 (backbone x0.1), constant lr. The top level is stage 1
# (f_θ alone, `stage1_iters` steps); stages 2 and 3 are the `multitask`
# template of ./methods/three_stage.py with this f_θ, `stage_iters` steps,
# λ1 = `lambda_con`, λ2 = `lambda_pl`, EMA decay 0.99 -> 0.995 -> 0.9975 ->
# 0.999 after 20k, 40k, 50k steps.
_base_ = [
    './models/deeplabv2_r101-d8.py', './methods/three_stage.py',
    './default_runtime.py'
]
lambda_con, lambda_pl = 0.5, 0.5
# the code's Cityscapes runs: stage 1 20 epochs of 1,000 steps (main.py:
# 536-537), stages 2-3 60 (main.py:594,604); the paper trains 60,000 steps
# in every stage (Sec. IV-B): stage1_iters = 60000 in a config for that
stage1_iters, stage_iters = 20000, 60000
# validated after every 1,000-step epoch, as main.py:360-412 (stages.py
# reports the best of these next to the final one, as the code's Best_mIoU)
val_interval = 1000
ema_decays = (0.99, 0.995, 0.9975, 0.999)
ema_milestones = (20000, 40000, 50000)
# frozen BN (official freeze_bn=True): pretrained statistics and affine
norm_cfg = dict(type='BN', requires_grad=False)
f_theta = _base_.model
f_theta.backbone.norm_cfg = norm_cfg
f_theta.backbone.norm_eval = True
# L_seg averaged over the valid (non-255) pixels, as the official
# nn.CrossEntropyLoss(ignore_index=255) (main.py:125,302, stage 1 included:
# main.py:331); mmseg's default divides by every pixel of the crop.
# ThreeStageSegmentor enforces it for stages 2 and 3 as well.
f_theta.decode_head.loss_decode.avg_non_ignore = True
# the official Classifier_Module returns inside its loop: the sum of rates 6
# and 12 only (architectures/deeplab2.py:126-130), for f_θ, ĝ and g̃ alike
# (the branch heads copy this head); False gives the paper's four rates
# (its Appendix table: ASPP rates 6, 12, 18, 24)
f_theta.decode_head.official_early_return = True
model = f_theta
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=3e-5, weight_decay=0.),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=0.1))))
param_scheduler = []  # constant learning rate (official lr_sched='none')
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=stage1_iters,
    val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# stages 2 and 3 with this f_θ and schedule; the dataset config sets
# `segmentor` again (its crop size and classes) and adds `train_dataloader`
multitask = _base_.multitask
multitask.update(
    model=dict(
        segmentor=f_theta,
        data_preprocessor=dict(data_preprocessor=f_theta.data_preprocessor),
        semi_train_cfg=dict(con_weight=lambda_con, pl_weight=lambda_pl)),
    train_cfg=dict(max_iters=stage_iters, val_interval=val_interval))
multitask.custom_hooks[0].update(decays=ema_decays, milestones=ema_milestones)
# the dataset config adds the `dataset` the pseudo-masks are predicted on
pseudo_masks = dict(generator=dict(num_workers=4))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=5000, max_keep_ckpts=2))
