# iMAS ablation (paper Table 5 / appendix): only the adaptive CutMix. PASCAL
# VOC blended, 1,323 labels, DeepLabV3+ R50; the full method is
# ../voc_blended_1323_r50.py.
_base_ = '../voc_blended_1323_r50.py'
model = dict(
    semi_train_cfg=dict(
        adaptive_loss=False,
        adaptive_intensity=False,
        adaptive_cutmix=True))
