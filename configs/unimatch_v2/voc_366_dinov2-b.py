# UniMatch V2, PASCAL VOC 2012 classic, 366 labeled images, DINOv2-B;
# everything else as voc_732_dinov2-b.py.
_base_ = './voc_732_dinov2-b.py'
num_labeled = 366
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/unimatch/pascal/366/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../../splits/unimatch/pascal/366/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
