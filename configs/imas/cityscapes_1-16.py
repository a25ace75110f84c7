# iMAS, Cityscapes, 186 labeled images (1/16), DeepLabV3+ R50 (OS 16);
# everything else as cityscapes_1-8.py.
_base_ = './cityscapes_1-8.py'
num_labeled = 186
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../splits/cityscapes/186/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../splits/cityscapes/186/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
