# iMAS ablation: no adaptive component: the standard unsupervised loss
# (plain per-image mean), the standard intensity augmentation and CutMix
# (fixed trigger probability 0.5, random pairs); HagSeg Table 4 row 8, 76.7
# (all three standard; not a row of the iMAS paper's Table 5).
# PASCAL VOC blended, 1,323 labels, DeepLabV3+ R101 as the paper's Table 5;
# the full method (77.9) is ../voc_blended_1323_r101.py.
_base_ = '../voc_blended_1323_r101.py'
model = dict(
    semi_train_cfg=dict(
        adaptive_loss=False,
        adaptive_intensity=False,
        adaptive_cutmix=False))
