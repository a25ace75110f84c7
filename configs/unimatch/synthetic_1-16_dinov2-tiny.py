# UniMatch (V1 step) on the synthetic shapes dataset, 1/16 labels, on the
# tiny DINOv2-shaped ViT of ../unimatch_v2/synthetic_1-16.py, as
# ./voc_92_dinov2-b.py puts the V1 step on DINOv2-B: the network, data,
# 70-px crops, AdamW, 1,500 iterations and evaluation of that config; the V1
# step (teacher-free, two strong views, FP on the four encoder maps, a mix
# stream of the same images: 4 labeled + 4 unlabeled + 4 mix, tau 0.95 as
# ./voc_92_dinov2-b.py). For the comparison of configs/unimatch_v2/
# README.md, "Synthetic comparison".
_base_ = '../unimatch_v2/synthetic_1-16.py'
# the V1 packing (./_base_/branches.py: a mix stream with its own views)
v1_branch_field = [
    'sup', 'unsup_weak', 'unsup_strong1', 'unsup_strong2', 'mix_weak',
    'mix_strong1', 'mix_strong2'
]
v1_pack_sup = dict(
    type='MultiBranch',
    branch_field=v1_branch_field,
    sup=[dict(type='PackSemiSegInputs')])
v1_pack_unsup = dict(
    type='MultiBranch',
    branch_field=v1_branch_field,
    unsup_weak=[dict(type='PackSemiSegInputs')],
    unsup_strong1=_base_.strong_view,
    unsup_strong2=_base_.strong_view)
v1_pack_mix = dict(
    type='MultiBranch',
    branch_field=v1_branch_field,
    mix_weak=[dict(type='PackSemiSegInputs')],
    mix_strong1=_base_.strong_view,
    mix_strong2=_base_.strong_view)
labeled_pipeline = _base_.labeled_pipeline[:-1] + [v1_pack_sup]
unlabeled_pipeline = _base_.unlabeled_pipeline[:-1] + [v1_pack_unsup]
mix_pipeline = _base_.unlabeled_pipeline[:-1] + [v1_pack_mix]
labeled_dataset = dict(_base_.labeled_dataset, pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    _base_.unlabeled_dataset, pipeline=unlabeled_pipeline)
mix_dataset = dict(unlabeled_dataset, pipeline=mix_pipeline)
# the mix source repeats the unlabeled order (unimatch.py:121 of UniMatch)
train_dataloader = dict(
    batch_size=12,
    sampler=dict(
        batch_size=12, source_ratio=[1, 1, 1], same_order_as=[None, None,
                                                              1]),
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
model = dict(
    _delete_=True,
    type='UniMatchSegmentor',
    segmentor=_base_.segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=_base_.segmentor.data_preprocessor),
    semi_train_cfg=dict(conf_thresh=0.95, mix_partner='same_image'),
    semi_test_cfg=dict(predict_on='student'))
# teacher-free: no MeanTeacherHook
custom_hooks = [
    dict(type='PseudoLabelVisHook', interval=250, num_images=2),
    dict(type='PseudoLabelStatsHook', interval=100),
]
default_hooks = dict(
    checkpoint=dict(interval=1500, save_best='student/mIoU', rule='greater'))
