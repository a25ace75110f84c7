# Your own data, semi-supervised (docs/dataset_prepare.md, "Your own
# data"). Fill in the class names, palette and paths; any method config
# that inherits semi_voc_classic.py can inherit this file instead. Layout:
#   data/my_data/images/train/<any subfolders>/<name>.jpg   training images
#   data/my_data/masks/train/<same subfolders>/<name>.png   class index per
#       pixel (0..N-1, 255 = ignore); needed for the labeled images only
#   data/my_data/images/val/..., masks/val/...              validation
#   data/my_data/unlabeled/<any subfolders>/*.jpg          optional, no masks
#   data/my_data/splits/<split>/{labeled,unlabeled}.txt    from
#       tools/misc/make_splits.py --img-dir data/my_data/images/train \
#           --data-root data/my_data data/my_data/splits/1-8 --ratio 1/8
# Split lines: an image path relative to data_root (images/train/a/1.jpg;
# mask: masks/train/a/1.png), or two columns "image mask".
class_names = ('background', 'class_1', 'class_2')  # N names: model N classes
palette = [[0, 0, 0], [128, 0, 0], [0, 128, 0]]  # one RGB colour per class
data_root = 'data/my_data/'
crop_size = (512, 512)
branch_field = ['sup', 'unsup_weak', 'unsup_strong']
# the wrapped dataset: any registered mmseg type (BaseSegDataset, or e.g.
# ADE20KDataset with its own classes); validation reads it directly
my_dataset = dict(
    type='BaseSegDataset',
    data_root=data_root,
    metainfo=dict(classes=class_names, palette=palette),
    data_prefix=dict(img_path='images/train', seg_map_path='masks/train'),
    img_suffix='.jpg',
    seg_map_suffix='.png',
    reduce_zero_label=False)

weak_geometric = [
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
]
sup_only_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *weak_geometric,
    dict(type='PackSegInputs'),
]
labeled_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    *weak_geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        sup=[dict(type='PackSemiSegInputs')]),
]
unlabeled_pipeline = [
    dict(type='LoadImageFromFile'),
    # the placeholder label (all 255) of the image size; no mask file
    dict(type='LoadUnlabeledAnnotations'),
    *weak_geometric,
    dict(
        type='MultiBranch',
        branch_field=branch_field,
        unsup_weak=[dict(type='PackSemiSegInputs')],
        unsup_strong=[
            dict(type='StrongIntensityAug', num_ops=2),
            dict(type='PackSemiSegInputs')
        ]),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]

labeled_dataset = dict(
    type='SemiSplitDataset',
    dataset=my_dataset,
    ann_file='splits/1-8/labeled.txt',
    is_labeled=True,
    pipeline=labeled_pipeline)
# unlabeled part: the split's unlabeled.txt, or every image of a folder:
# replace ann_file by img_dir='unlabeled'
unlabeled_dataset = dict(
    type='SemiSplitDataset',
    dataset=my_dataset,
    ann_file='splits/1-8/unlabeled.txt',
    is_labeled=False,
    pipeline=unlabeled_pipeline)

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', batch_size=4, source_ratio=[1, 1]),
    dataset=dict(
        type='ConcatDataset', datasets=[labeled_dataset, unlabeled_dataset]))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # the wrapped type itself, on every image of the val folders
    dataset=dict(
        my_dataset,
        data_prefix=dict(img_path='images/val', seg_map_path='masks/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
