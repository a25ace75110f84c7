# ADE20K (150 classes) for UniMatch V2 (configs/ade20k.yaml): crop 518,
# 2 labeled + 2 unlabeled per GPU (ade20k.yaml:9, 4 GPUs), UniMatch V2's
# split files (image and annotation paths relative to ADEChallengeData2016):
#   data/ade/ADEChallengeData2016/{images,annotations}/{training,validation}
#   data/splits/ade20k/<1_64|1_32|1_16|1_8|1_4|1_2>/{labeled,unlabeled}.txt
#   data/splits/ade20k/val.txt
# Dataset, paths and annotation choice as the shared
# ../../_base_/datasets/semi_ade20k.py: annotations='unimatch' reads
# UniMatch's pre-processed maps (0-149, 255), what the official code reads
# (README.md:102, dataset/semi.py:38); raw ADEChallengeData2016 maps need
# annotations='raw' on the labeled and val datasets.
# Geometry, views and whole-image evaluation as data_voc.py (dataset/semi.py
# is one code path for every dataset; unimatch_v2.py:239 'original').
_base_ = './data_voc.py'
dataset_type = 'SemiADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016/'
split_root = '../../splits/ade20k/'  # relative to data_root
annotations = 'unimatch'
labeled_dataset = _base_.labeled_dataset
labeled_dataset.type = dataset_type
labeled_dataset.data_root = data_root
labeled_dataset.ann_file = split_root + '1_64/labeled.txt'
labeled_dataset.annotations = annotations
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.type = dataset_type
unlabeled_dataset.data_root = data_root
unlabeled_dataset.ann_file = split_root + '1_64/unlabeled.txt'
unlabeled_dataset.annotations = annotations
train_dataloader = dict(
    batch_size=4,
    sampler=dict(batch_size=4),
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=split_root + 'val.txt',
        annotations=annotations))
test_dataloader = val_dataloader
