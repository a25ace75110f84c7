# iMAS ablation: the standard unsupervised loss on the weak view, without any
# strong augmentation (HagSeg Table 4 row 2, 74.7).
# PASCAL VOC blended, 1,323 labels, DeepLabV3+ R101 as the paper's Table 5;
# the full method (77.9) is ../voc_blended_1323_r101.py.
_base_ = '../voc_blended_1323_r101.py'
model = dict(
    semi_train_cfg=dict(
        adaptive_loss=False,
        adaptive_intensity=False,
        adaptive_cutmix=False,
        use_cutmix_branch=False))
# no intensity augmentation: the strong branch is the weak view itself
# (the intensity branch carries the loss on x_w, no CutMix)
unlabeled_pipeline = _base_.unlabeled_pipeline
unlabeled_pipeline[-1].unsup_strong = [dict(type='PackSemiSegInputs')]
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.pipeline = unlabeled_pipeline
train_dataloader = dict(
    dataset=dict(datasets=[_base_.labeled_dataset, unlabeled_dataset]))
