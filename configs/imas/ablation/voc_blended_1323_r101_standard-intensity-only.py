# iMAS ablation: the standard unsupervised loss with the standard intensity
# augmentation, no CutMix (HagSeg Table 4 row 4, 75.4).
# PASCAL VOC blended, 1,323 labels, DeepLabV3+ R101 as the paper's Table 5;
# the full method (77.9) is ../voc_blended_1323_r101.py.
_base_ = '../voc_blended_1323_r101.py'
model = dict(
    semi_train_cfg=dict(
        adaptive_loss=False,
        adaptive_intensity=False,
        adaptive_cutmix=False,
        use_cutmix_branch=False))
