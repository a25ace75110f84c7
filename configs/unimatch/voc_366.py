# UniMatch, PASCAL VOC 2012 classic, 366 labeled images; everything else as
# voc_732.py.
_base_ = './voc_732.py'
num_labeled = 366
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/unimatch/pascal/366/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../../splits/unimatch/pascal/366/unlabeled.txt'
mix_dataset = _base_.mix_dataset
mix_dataset.ann_file = '../../splits/unimatch/pascal/366/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
