# iMAS ablation: the standard unsupervised loss with the adaptive CutMix, no
# intensity augmentation (paper Table 5 row 4, 76.9; HagSeg Table 4 row 7).
# PASCAL VOC blended, 1,323 labels, DeepLabV3+ R101 as the paper's Table 5;
# the full method (77.9) is ../voc_blended_1323_r101.py.
_base_ = '../voc_blended_1323_r101.py'
model = dict(
    semi_train_cfg=dict(
        adaptive_loss=False,
        adaptive_intensity=False,
        adaptive_cutmix=True,
        use_intensity_branch=False))
