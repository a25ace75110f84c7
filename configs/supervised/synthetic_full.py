# Supervised upper bound: every training image labeled.
_base_ = './synthetic_1-16.py'
train_dataloader = dict(dataset=dict(ann_file='splits/full/labeled.txt'))
