# DARS on the synthetic dataset, 1/8 labels (200 labeled + 1,400 unlabeled),
# half-width ResNet-18 DeepLabV3+ from scratch, CPU-sized; no official
# counterpart (the round structure of CVMI-Lab/DARS train_psp50_cityscapes_
# split8_crop713_round{0,1,2}.yaml, with rounds in iterations): round 0
# supervised, then two self-training rounds with distribution-aligned
# pseudo-labels (α 0.4 -> 0.65, scale range widening as in the official
# Cityscapes schedule); the official learning-rate schedule across rounds
# (poly whose horizon is each round's end: every teacher is annealed).
_base_ = [
    '../_base_/models/deeplabv3plus_r18-synthetic.py',
    '../_base_/datasets/self_training_synthetic.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (64, 64)
model = dict(
    type='SelfTrainingSegmentor',
    pseudo_weight=1.0,
    # each branch's loss a mean over its own valid (non-255) pixels, as
    # the official nn.CrossEntropyLoss(ignore_index=255) per batch
    # (CVMI-Lab/DARS tool/train.py line 170, tool/train_func.py 91-120)
    decode_head=dict(loss_decode=dict(avg_non_ignore=True)),
    data_preprocessor=dict(
        _delete_=True,
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255,
            size=crop_size)))
# from scratch: a higher lr, and no x10 on the head
optim_wrapper = dict(
    optimizer=dict(lr=0.05, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys=dict(decode_head=dict(lr_mult=1.))))
rounds = [
    dict(iters=1000),
    dict(iters=1000, label_ratio=0.4, ratio_range=(0.75, 1.5)),
    dict(iters=1000, label_ratio=0.65, ratio_range=(0.75, 2.0)),
]
train_cfg = dict(
    _delete_=True,
    type='SelfTrainingRoundsLoop',
    rounds=rounds,
    round_dataloader={{_base_.round_dataloader}},
    pseudo_dataset_index=1,
    lr_schedule='extend',
    val_interval=500)
val_cfg = dict(_delete_=True, type='ValLoop')
# pseudo-labelling as the official code: the logits of the image and of its
# horizontal flip averaged, then the softmax (CVMI-Lab/DARS
# tool/gen_pseudo_label_utils.py lines 79-91 and 257-267); sampling keys
# redrawn in every round
pseudo_label_generator = dict(
    mode='DARS',
    sampling='exact',
    temperature=1.0,
    flip=True,
    flip_average='logits',
    seed=0)
custom_hooks = [
    dict(
        type='PseudoLabelRoundHook',
        unlabeled_dataset={{_base_.unlabeled_predict_dataset}},
        labeled_dataset={{_base_.labeled_dataset}},
        generator=pseudo_label_generator),
    # four generated pseudo-labels drawn at each round start
    # (vis_data/vis_image/pseudo_labels_round<k>_<i>_<iter>.png)
    dict(type='PseudoLabelVisHook', round_num_images=4),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=500, max_keep_ckpts=3))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
# Evaluation as the official test (CVMI-Lab/DARS tool/test.py lines 332-342):
# the image and its horizontal flip, softmax averaged (mmseg's SegTTAModel),
# with `tools/test.py CONFIG CKPT --tta`; validation during training is
# single-view (mmengine's ValLoop runs the plain model).
tta_pipeline = [
    _base_.test_pipeline[0],
    dict(
        type='TestTimeAug',
        transforms=[[
            dict(type='RandomFlip', prob=0., direction='horizontal'),
            dict(type='RandomFlip', prob=1., direction='horizontal')
        ], *[[t] for t in _base_.test_pipeline[1:]]])
]
