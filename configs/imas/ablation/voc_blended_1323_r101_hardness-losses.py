# iMAS ablation (not a row of the paper's Table 5): hardness from the
# student's cross-entropy against the teacher's pseudo-labels on the weak
# view, e = exp(-CE).
# PASCAL VOC blended, 1,323 labels, DeepLabV3+ R101 as the paper's Table 5;
# the full method (77.9) is ../voc_blended_1323_r101.py.
_base_ = '../voc_blended_1323_r101.py'
model = dict(
    semi_train_cfg=dict(
        hardness_strategy='losses'))
