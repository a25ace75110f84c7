# What every UniMatch V2 data file (./data_*.py) shares: two sources per
# batch (MultiSourceSampler: labeled, unlabeled; unimatch_v2.py:112-120, no
# second "mix" stream: the CutMix partner is another image of the same
# unlabeled batch, unimatch_v2.py:175-176), the strong views, rescale, flip
# and unlabeled loading of UniMatch V1 (its dataset/semi.py and
# dataset/transform.py are the same files in V2: ../../unimatch/_base_/
# branches.py), and the MultiBranch packing of the V2 views.
_base_ = '../../unimatch/_base_/branches.py'
# dataset/semi.py:52-74: a weak view and two strong views of each unlabeled
# image; the CutMix boxes are drawn in the segmentor
branch_field = ['sup', 'unsup_weak', 'unsup_strong1', 'unsup_strong2']
pack_sup = dict(
    type='MultiBranch',
    branch_field=branch_field,
    sup=[dict(type='PackSemiSegInputs')])
pack_unsup = dict(
    type='MultiBranch',
    branch_field=branch_field,
    unsup_weak=[dict(type='PackSemiSegInputs')],
    unsup_strong1=_base_.strong_view,
    unsup_strong2=_base_.strong_view)
# FixMatch of the V2 code (fixmatch.py:164-165): one strong view
fixmatch_branch_field = ['sup', 'unsup_weak', 'unsup_strong1']
fixmatch_pack_sup = dict(pack_sup, branch_field=fixmatch_branch_field)
fixmatch_pack_unsup = dict(
    type='MultiBranch',
    branch_field=fixmatch_branch_field,
    unsup_weak=[dict(type='PackSemiSegInputs')],
    unsup_strong1=_base_.strong_view)
# no mix stream re-reading the unlabeled images: the plain loader
load_unlabeled = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadUnlabeledAnnotations', ignore_index=254),
]
# a data file adds dataset=dict(datasets=[labeled, unlabeled]) and the
# per-GPU batch (labeled + unlabeled)
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='MultiSourceSampler', batch_size=8, source_ratio=[1, 1]),
    dataset=dict(type='ConcatDataset'))
