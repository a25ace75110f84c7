# ESL ablation, Table 3 (full partition of classic PASCAL VOC 2012: 1,464
# labeled images): the 5 most probable classes instead of DSL ("Top-5"),
# without the contrastive term like the rest of the table; otherwise as
# ../voc_1464.py.
_base_ = '../voc_1464.py'
model = dict(
    semi_train_cfg=dict(soft_label=dict(type='topk', k=5), num_parts=0))
