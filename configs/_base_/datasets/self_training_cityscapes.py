# Offline self-training (DARS) on Cityscapes: round 0 on the labeled split,
# later rounds on labeled + pseudo-labeled images (ann_file set per round by
# SelfTrainingRoundsLoop); the unlabeled split at full resolution is what the
# pseudo-label generator predicts (sliding window as in evaluation).
# 1/8 = 372 labeled images, crop 713.
_base_ = './semi_cityscapes.py'
crop_size = (713, 713)
dataset_type = 'SemiCityscapesDataset'
data_root = 'data/cityscapes/'
split_root = '../splits/cityscapes/'  # relative to data_root
split = '372'
# Labeled/unlabeled lists per split source and size, relative to data_root:
# 'dars': the official DARS lists (CVMI-Lab/DARS data_split/cs_split{8,4}_
#   {labeled,unlabeled}.txt, image and label columns), to be put in
#   data/splits/dars/ (not shipped);
# 'u2pl': the U2PL/iMAS lists every other method of this project uses
#   (data/splits/cityscapes/<n>/).
# The two 372-image lists share 38 images (744: 205); the unlabeled lists
# are the complements in the 2,975 training images. A DARS config picks one
# with `split_source` (and repeats the lines that set the ann_files).
split_lists = dict(
    dars={
        '372': ('../splits/dars/cs_split8_labeled.txt',
                '../splits/dars/cs_split8_unlabeled.txt'),
        '744': ('../splits/dars/cs_split4_labeled.txt',
                '../splits/dars/cs_split4_unlabeled.txt'),
    },
    u2pl={
        '372': (split_root + '372/labeled.txt',
                split_root + '372/unlabeled.txt'),
        '744': (split_root + '744/labeled.txt',
                split_root + '744/unlabeled.txt'),
    })
split_source = 'dars'
labeled_list, unlabeled_list = split_lists[split_source][split]
st_branch_field = ['sup', 'pseudo']
geometric = [
    dict(
        type='RandomResize',
        scale=(2048, 1024),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    # DARS util/transform.py + tool/train*.py: rotation +-10 deg (p 0.5;
    # image padded with the mean, BGR here, label with 255; mmseg rotates
    # about ((w-1)/2, (h-1)/2), the official code about (w/2, h/2)) and a
    # 5x5 Gaussian blur (p 0.5), on labeled and pseudo-labeled images alike
    dict(
        type='RandomRotate',
        prob=0.5,
        degree=10,
        pad_val=(103.53, 116.28, 123.675),
        seg_pad_val=255),
    dict(type='RandomGaussianBlur', prob=0.5, kernel_size=5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
sup_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(type='PackSegInputs'),
]
st_labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=st_branch_field,
        sup=[dict(type='PackSemiSegInputs')]),
]
pseudo_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *geometric,
    dict(
        type='MultiBranch',
        branch_field=st_branch_field,
        pseudo=[dict(type='PackSemiSegInputs')]),
]
predict_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=labeled_list,
    is_labeled=True,
    pipeline=st_labeled_pipeline)
pseudo_labeled_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=None,  # set per round
    is_labeled=True,
    check_label_values=False,
    pipeline=pseudo_pipeline)
unlabeled_predict_dataset = dict(
    type=dataset_type,
    data_root=data_root,
    ann_file=unlabeled_list,
    is_labeled=False,
    keep_gt_for_analysis=True,  # pseudo-label accuracy when gtFine exists
    pipeline=predict_pipeline)
# 16 images per step in total: 4 GPUs x 4 (round 0: labeled only; later
# rounds: 2 labeled + 2 pseudo-labeled per GPU, i.e. 8 + 8)
train_dataloader = dict(
    _delete_=True,
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=labeled_list,
        is_labeled=True,
        pipeline=sup_pipeline))
round_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=False,
    sampler=dict(type='MultiSourceSampler', batch_size=4,
                 source_ratio=[1, 1]),
    dataset=dict(
        type='ConcatDataset',
        datasets=[labeled_dataset, pseudo_labeled_dataset]))
