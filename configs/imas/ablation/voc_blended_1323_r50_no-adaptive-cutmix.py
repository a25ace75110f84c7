# iMAS ablation (paper Table 5 / appendix): iMAS without adaptive CutMix
# (fixed trigger probability 0.5, random pairs). PASCAL VOC blended, 1,323
# labels, DeepLabV3+ R50; the full method is ../voc_blended_1323_r50.py.
_base_ = '../voc_blended_1323_r50.py'
model = dict(
    semi_train_cfg=dict(
        adaptive_cutmix=False))
