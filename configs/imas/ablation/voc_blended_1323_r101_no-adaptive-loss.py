# iMAS ablation (not a row of the paper's Table 5): iMAS without the
# easiness-weighted loss (plain mean).
# PASCAL VOC blended, 1,323 labels, DeepLabV3+ R101 as the paper's Table 5;
# the full method (77.9) is ../voc_blended_1323_r101.py.
_base_ = '../voc_blended_1323_r101.py'
model = dict(
    semi_train_cfg=dict(
        adaptive_loss=False))
