# Mean-teacher baseline, ADE20K, 1/32 (631 labeled images, UniMatch V2's
# split); everything else as ade20k_1-64.py.
_base_ = './ade20k_1-64.py'
num_labeled = 631
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/ade20k/1_32/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../../splits/ade20k/1_32/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
