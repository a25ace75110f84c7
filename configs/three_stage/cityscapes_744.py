# Three-stage self-training, Cityscapes, 744 labels: as cityscapes_372.py.
_base_ = './cityscapes_372.py'
split = '744'
labeled_split = '../splits/three_stage/cityscapes/744/labeled.txt'
train_dataloader = dict(dataset=dict(ann_file=labeled_split))
mt_loader = _base_.multitask.train_dataloader
mt_loader.dataset.datasets[0].ann_file = labeled_split
multitask = dict(train_dataloader=mt_loader)
pm = _base_.pseudo_masks
pm.dataset.datasets[0].ann_file = labeled_split
pm.dataset.datasets[1].ann_file = \
    '../splits/three_stage/cityscapes/744/unlabeled.txt'
pseudo_masks = pm
