# ESL ablation, Table 4 (full partition of classic PASCAL VOC 2012: 1,464
# labeled images): K = 1 parts per class (K = 5 is ../voc_1464.py, K = 0
# voc_1464_no-contrastive.py); otherwise as ../voc_1464.py.
_base_ = '../voc_1464.py'
model = dict(semi_train_cfg=dict(num_parts=1))
