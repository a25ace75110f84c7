# UniMatch, PASCAL VOC 2012 blended, 2646 labeled images (UniMatch's
# u2pl_1_4 split); everything else as voc_blended_1323.py.
_base_ = './voc_blended_1323.py'
num_labeled = 2646
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/unimatch/pascal/u2pl_1_4/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = \
    '../../splits/unimatch/pascal/u2pl_1_4/unlabeled.txt'
mix_dataset = _base_.mix_dataset
mix_dataset.ann_file = '../../splits/unimatch/pascal/u2pl_1_4/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
