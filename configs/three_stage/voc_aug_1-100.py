# Three-stage self-training, augmented VOC 2012 1/100 (106 labels):
# as voc_aug_1-8.py with λ1 = λ2 = 1 / 4 (the paper's VOC weights) and 1 + 9
# images per step of stages 2 and 3.
_base_ = './voc_aug_1-8.py'
split = '106'
labeled_split = '../../splits/three_stage/pascal_aug/106/labeled.txt'
train_dataloader = dict(dataset=dict(ann_file=labeled_split))
# 1 labeled + 9 of L ∪ U per step of stages 2 and 3, the official VOC runs
# (main.py:620,630); voc_aug_1-8.py raises the labeled one to 2
n_labeled, n_union = 1, 9
mt_loader = _base_.multitask.train_dataloader
mt_loader.dataset.datasets[0].ann_file = labeled_split
mt_loader.batch_size = n_labeled + n_union
mt_loader.sampler.batch_size = n_labeled + n_union
mt_loader.sampler.source_ratio = [n_labeled, n_union]
multitask = dict(
    train_dataloader=mt_loader,
    model=dict(semi_train_cfg=dict(con_weight=1 / 4, pl_weight=1 / 4)))
pm = _base_.pseudo_masks
pm.dataset.datasets[0].ann_file = labeled_split
pm.dataset.datasets[1].ann_file = \
    '../../splits/three_stage/pascal_aug/106/unlabeled.txt'
pseudo_masks = pm
