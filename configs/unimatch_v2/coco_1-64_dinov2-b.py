# UniMatch V2, COCO (81 classes), 1/64 (1849 labeled images, UniMatch's
# split), DINOv2-B; everything else as coco_1-512_dinov2-b.py.
_base_ = './coco_1-512_dinov2-b.py'
num_labeled = 1849
labeled_dataset = _base_.labeled_dataset
labeled_dataset.ann_file = '../splits/coco/1_64/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.ann_file = '../splits/coco/1_64/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
