# iMAS ablation (paper Table 5 / appendix): hardness from the student's cross-
# entropy against the teacher's pseudo-labels on the weak view, e = exp(−CE).
# PASCAL VOC blended, 1,323 labels, DeepLabV3+ R50; the full method is
# ../voc_blended_1323_r50.py.
_base_ = '../voc_blended_1323_r50.py'
model = dict(
    semi_train_cfg=dict(
        hardness_strategy='losses'))
