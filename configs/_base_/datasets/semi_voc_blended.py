# PASCAL VOC 2012 "blended" setting: labeled and unlabeled images both drawn
# from the 10,582 augmented set (SegmentationClassAug labels).
#   data/splits/pascal_blended/<N>/{labeled,unlabeled}.txt
_base_ = './semi_voc_classic.py'
split_root = '../../splits/pascal_blended/'
labeled_dataset = dict(
    type='SemiVOCDataset',
    data_root='data/VOCdevkit/VOC2012/',
    ann_file=split_root + '1323/labeled.txt',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    is_labeled=True,
    pipeline={{_base_.labeled_pipeline}})
unlabeled_dataset = dict(
    type='SemiVOCDataset',
    data_root='data/VOCdevkit/VOC2012/',
    ann_file=split_root + '1323/unlabeled.txt',
    data_prefix=dict(
        img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
    is_labeled=False,
    keep_gt_for_analysis=False,
    pipeline={{_base_.unlabeled_pipeline}})
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
