# What every UniMatch/FixMatch data file (./data_*.py) shares: three sources
# per batch (MultiSourceSampler): labeled, unlabeled and the unlabeled set
# again as the "mix" stream, in the unlabeled order (official: a second
# iterator over trainloader_u, unimatch.py:121), 2 + 2 + 2 per GPU, the
# shared rescale and flip, and the MultiBranch
# packing of their views. A data file loads and crops each source with its
# own geometry, then ends the pipelines with pack_sup / pack_unsup /
# pack_mix; FixMatch configs (configs/fixmatch) swap those for the
# fixmatch_pack_* steps (one strong view).
branch_field = [
    'sup', 'unsup_weak', 'unsup_strong1', 'unsup_strong2', 'mix_weak',
    'mix_strong1', 'mix_strong2'
]
# dataset/semi.py:51-54 (one strong view): torchvision colour jitter with
# p 0.8, grayscale p 0.2, PIL blur p 0.5 with sigma in [0.1, 2.0]
strong_view = [
    dict(
        type='TorchvisionColorJitter',
        brightness=0.5,
        contrast=0.5,
        saturation=0.5,
        hue=0.25,
        prob=0.8),
    dict(type='TorchvisionRandomGrayscale', prob=0.2),
    dict(type='PILGaussianBlur', prob=0.5, sigma_range=(0.1, 2.0)),
    dict(type='PackSemiSegInputs'),
]
# dataset/semi.py:41-44, transform.py:9-56: PIL resize to an integer long
# side randint(0.5 L, 2.0 L) (bilinear image, nearest label), crop, pad the
# crop at the bottom/right (image 0, label 255, unlabeled placeholder 254
# so 255 marks the padding), flip 0.5; a data file puts its crop between
# rescale and flip: [rescale, RandomCrop, PadToSize, flip]. The padding
# comes before the strong views, which see it black, as officially.
rescale = dict(
    type='RandomRescale',
    ratio_range=(0.5, 2.0),
    draw='long_side',
    backend='pillow')
flip = dict(type='RandomFlip', prob=0.5)
# 254 inside the image, so the 255 of padding marks the padding pixels;
# the mix stream loads the unlabeled images of the same batch again: the
# worker decodes each once (LoadImageFromFileShared, same bytes)
load_unlabeled = [
    dict(type='LoadImageFromFileShared', cache_size=4),
    dict(type='LoadUnlabeledAnnotations', ignore_index=254),
]
# UniMatch: a weak view and two strong views of each unlabeled/mix image
pack_sup = dict(
    type='MultiBranch',
    branch_field=branch_field,
    sup=[dict(type='PackSemiSegInputs')])
pack_unsup = dict(
    type='MultiBranch',
    branch_field=branch_field,
    unsup_weak=[dict(type='PackSemiSegInputs')],
    unsup_strong1=strong_view,
    unsup_strong2=strong_view)
pack_mix = dict(
    type='MultiBranch',
    branch_field=branch_field,
    mix_weak=[dict(type='PackSemiSegInputs')],
    mix_strong1=strong_view,
    mix_strong2=strong_view)
# FixMatch (fixmatch.py): one strong view
fixmatch_branch_field = [
    'sup', 'unsup_weak', 'unsup_strong1', 'mix_weak', 'mix_strong1'
]
fixmatch_pack_sup = dict(pack_sup, branch_field=fixmatch_branch_field)
fixmatch_pack_unsup = dict(
    type='MultiBranch',
    branch_field=fixmatch_branch_field,
    unsup_weak=[dict(type='PackSemiSegInputs')],
    unsup_strong1=strong_view)
fixmatch_pack_mix = dict(
    type='MultiBranch',
    branch_field=fixmatch_branch_field,
    mix_weak=[dict(type='PackSemiSegInputs')],
    mix_strong1=strong_view)
# a data file adds dataset=dict(datasets=[labeled, unlabeled, mix])
train_dataloader = dict(
    batch_size=6,
    num_workers=4,
    persistent_workers=True,
    # the mix source repeats the unlabeled order (its own augmentation
    # draws): the official second iterator over the same loader,
    # unimatch.py:121 (mix_partner='same_image' of the segmentor)
    sampler=dict(
        type='MultiSourceSampler',
        batch_size=6,
        source_ratio=[1, 1, 1],
        same_order_as=[None, None, 1]),
    dataset=dict(type='ConcatDataset'))
