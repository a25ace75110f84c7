# The three-stage method without f_θ, its data or its schedule (shared by
# three_stage_deeplabv2_r101.py and configs/three_stage/synthetic_1-8.py).
# `multitask` is the template of stages 2 and 3 (f_θ + the pseudo-mask
# branch, λ1 = λ2 = ½, the EMA teacher with the official decays); the config
# adds `model.segmentor` (f_θ), its preprocessor, `train_dataloader`,
# `train_cfg.max_iters`/`val_interval` and the EMA `milestones`. `stages` is
# what tools/train_stages.py runs; the config adds the `pseudo_masks` dataset.
multitask = dict(
    model=dict(
        type='ThreeStageSegmentor',
        aux_branch=dict(type='hat', channel_ratio=0.5),
        data_preprocessor=dict(type='MultiBranchSegDataPreProcessor'),
        semi_train_cfg=dict(
            sup_weight=1.0, con_weight=0.5, pl_weight=0.5,
            use_strong_aug=True),
        semi_test_cfg=dict(predict_on='teacher')),
    train_cfg=dict(type='IterBasedTrainLoop'),
    val_cfg=dict(type='TeacherStudentValLoop'),
    custom_hooks=[
        dict(type='MultiStepEMAHook', decays=(0.99, 0.995, 0.9975, 0.999))
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
pseudo_masks = dict(generator=dict(mode='argmax', flip=False))
