# ESL on the synthetic shapes dataset, 1/16 labels, ResNet-18 DeepLabV3+ from
# scratch, CPU-sized; same model, data, optimiser and schedule as
# configs/mean_teacher/synthetic_1-16.py, with a 64-channel projector and
# small memory-bank queues (see configs/esl/README.md).
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
    type='ESLSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(
        sce_weight=0.2,
        ctr_weight=0.1,
        soft_label=dict(type='dynamic', eta=0.95),
        num_parts=5,
        prototype_momentum=0.99,
        projector=dict(channels=64, num_convs=3),
        queue_size=32,
        anchor_ratio=0.1,
        conf_thresh=0.95,
        num_negatives=255,
        temperature=0.5),
    semi_test_cfg=dict(predict_on='teacher'))
# ESL uses the weak view and its CutMix only: no photometric strong branch
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUnlabeledAnnotations'),
    dict(
        type='RandomResize',
        scale=(64, 64),
        ratio_range=(0.75, 1.5),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='MultiBranch',
        branch_field=['sup', 'unsup_weak', 'unsup_strong'],
        unsup_weak=[dict(type='PackSemiSegInputs')]),
]
labeled_dataset = _base_.labeled_dataset
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.pipeline = unlabeled_pipeline
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
# from scratch: a higher lr, and no x10 on the heads
optim_wrapper = dict(
    optimizer=dict(lr=0.05, weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=1.), projector=dict(lr_mult=1.))))
train_cfg = dict(
    _delete_=True,
    type='SemiIterBasedTrainLoop',
    max_iters=1500,
    val_interval=1500)
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.99,
        skip_buffers=False),
    dict(type='PrototypeInitHook', batch_size=8, seed=0),
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
