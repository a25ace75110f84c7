# COCO in UniMatch's 81-class setting for UniMatch V2 (configs/coco.yaml):
# crop 518, 4 labeled + 4 unlabeled per GPU (coco.yaml:9, 4 GPUs), UniMatch
# V2's split files (two columns relative to the COCO root):
#   data/coco/{train2017,val2017,masks}
#   data/splits/coco/<1_512|1_256|1_128|1_64|1_32>/{labeled,unlabeled}.txt
#   data/splits/coco/val.txt
# Dataset and paths as the shared ../../_base_/datasets/semi_coco.py (masks:
# UniMatch's download or tools/dataset_converters/coco_instances_to_masks.py;
# unlabeled lists: tools/dataset_converters/coco_unlabeled_split.py when the
# official ones are not at hand).
# Geometry, views and whole-image evaluation as data_voc.py (dataset/semi.py
# is one code path for every dataset; unimatch_v2.py:239 'original').
_base_ = './data_voc.py'
dataset_type = 'SemiCOCO81Dataset'
data_root = 'data/coco/'
split_root = '../splits/coco/'  # relative to data_root
labeled_dataset = _base_.labeled_dataset
labeled_dataset.type = dataset_type
labeled_dataset.data_root = data_root
labeled_dataset.ann_file = split_root + '1_512/labeled.txt'
unlabeled_dataset = _base_.unlabeled_dataset
unlabeled_dataset.type = dataset_type
unlabeled_dataset.data_root = data_root
unlabeled_dataset.ann_file = split_root + '1_512/unlabeled.txt'
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=split_root + 'val.txt'))
test_dataloader = val_dataloader
