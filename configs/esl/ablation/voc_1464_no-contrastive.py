# ESL ablation on the full partition of classic PASCAL VOC 2012 (1,464
# labeled images): L_CE + L_SCE with DSL (eta = 0.95), no contrastive term
# (K = 0). One run gives three table entries: Table 2 row 4, Table 3
# eta = 0.95 and Table 4 K = 0 (80.41 in all three); otherwise as
# ../voc_1464.py.
_base_ = '../voc_1464.py'
model = dict(semi_train_cfg=dict(num_parts=0))
