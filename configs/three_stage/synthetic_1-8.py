# Three-stage self-training on the synthetic dataset, 1/8 labels (200 of
# 1,600), half-width ResNet-18 DeepLabV2 from scratch, CPU-sized.
#   python tools/train_stages.py configs/three_stage/synthetic_1-8.py
# The top level is stage 1 (supervised f_θ; `tools/train.py` trains it on its
# own); `stages` derives stages 2 and 3 from the `multitask` template.
_base_ = [
    '../_base_/models/deeplabv2_r18-synthetic.py',
    '../_base_/datasets/three_stage_synthetic.py',
    '../_base_/methods/three_stage.py', '../_base_/default_runtime.py'
]
crop_size = (64, 64)
f_theta = _base_.model
f_theta.data_preprocessor.size = crop_size
# L_seg over the valid pixels, as the official code (main.py:125,302,331)
f_theta.decode_head.loss_decode.avg_non_ignore = True
model = f_theta
# Adam as in the official code; from scratch: a larger lr and no x0.1 on
# the backbone (the official 3e-5 and x0.1 are for pretrained backbones)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.))
param_scheduler = []  # constant learning rate (official: lr_sched='none')
# stage 1 : stages 2-3 = 1 : 3, the official Cityscapes ratio (20 : 60 epochs)
stage1_iters, stage_iters = 400, 1200
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=stage1_iters,
    val_interval=100000)  # evaluated once at the end by train_stages.py
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# stages 2 and 3: the method's `multitask` template with this f_θ, data and
# schedule; official EMA decay steps every 20/20/10 epochs of 60, scaled to
# the stage length
multitask = _base_.multitask
multitask.update(
    model=dict(
        segmentor=f_theta,
        data_preprocessor=dict(data_preprocessor=f_theta.data_preprocessor)),
    train_dataloader=_base_.mt_train_dataloader,
    train_cfg=dict(max_iters=stage_iters, val_interval=100000))
multitask.custom_hooks[0].milestones = (stage_iters // 3,
                                        2 * stage_iters // 3,
                                        5 * stage_iters // 6)
# stages 2-3: pseudo-label pictures every 300 iterations and per-class
# statistics of the teacher's targets every 100 (see docs/watching_a_run.md)
multitask.custom_hooks += [
    dict(type='PseudoLabelVisHook', interval=300, num_images=2),
    dict(type='PseudoLabelStatsHook', interval=100),
]
pseudo_masks = dict(
    dataset=_base_.pseudo_mask_dataset, generator=dict(num_workers=0))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=500, max_keep_ckpts=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
