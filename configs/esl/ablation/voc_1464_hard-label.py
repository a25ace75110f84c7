# ESL ablation, Table 2 (full partition of classic PASCAL VOC 2012: 1,464
# labeled images): L_CE + L_SCE with the hard pseudo-label (teacher argmax,
# one-hot) instead of DSL + L_CTR (K = 5); otherwise as ../voc_1464.py.
_base_ = '../voc_1464.py'
model = dict(semi_train_cfg=dict(soft_label=dict(type='hard')))
