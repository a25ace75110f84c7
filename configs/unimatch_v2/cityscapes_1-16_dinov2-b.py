# UniMatch V2, Cityscapes, 1/16 (186 labeled images, UniMatch's split),
# DINOv2-B; everything else as cityscapes_1-8_dinov2-b.py.
_base_ = './cityscapes_1-8_dinov2-b.py'
num_labeled = 186
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../splits/unimatch/cityscapes/1_16/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = \
    '../splits/unimatch/cityscapes/1_16/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
