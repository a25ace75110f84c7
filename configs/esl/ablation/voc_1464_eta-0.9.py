# ESL ablation, Table 3 (full partition of classic PASCAL VOC 2012: 1,464
# labeled images): DSL with eta = 0.9, without the contrastive term (the
# table's eta = 0.95 entry, 80.41, is the L_CE + L_SCE(DSL) row of Table 2);
# otherwise as ../voc_1464.py.
_base_ = '../voc_1464.py'
model = dict(
    semi_train_cfg=dict(
        soft_label=dict(type='dynamic', eta=0.9), num_parts=0))
