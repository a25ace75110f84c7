# iMAS ablation (paper Table 5 / appendix): hardness from the mean confidence
# ratio (ρ_t + ρ_s) / 2 instead of the class-weighted symmetric IoU. PASCAL
# VOC blended, 1,323 labels, DeepLabV3+ R50; the full method is
# ../voc_blended_1323_r50.py.
_base_ = '../voc_blended_1323_r50.py'
model = dict(
    semi_train_cfg=dict(
        hardness_strategy='high-ratios'))
