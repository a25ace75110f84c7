# iMAS, PASCAL VOC 2012 blended, 5291 labeled images (1/2), DeepLabV3+
# R50 (OS 16); otherwise as voc_blended_1323_r50.py.
_base_ = './voc_blended_1323_r50.py'
num_labeled = 5291
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../../splits/pascal_blended/5291/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../../splits/pascal_blended/5291/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
