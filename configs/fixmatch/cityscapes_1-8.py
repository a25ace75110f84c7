# FixMatch baseline of the UniMatch code (fixmatch.py), Cityscapes 1/8
# (372 labeled images), crop 801, OHEM L_x, tau = 0; one CutMix strong view,
# no FP, L = (L_x + L_s) / 2; everything else as
# configs/unimatch/cityscapes_1-8.py.
_base_ = '../unimatch/cityscapes_1-8.py'
# the packing of ../unimatch/_base_/branches.py with one strong view
branch_field = _base_.fixmatch_branch_field
labeled_pipeline = _base_.labeled_pipeline[:-1] + [_base_.fixmatch_pack_sup]
unlabeled_pipeline = \
    _base_.unlabeled_pipeline[:-1] + [_base_.fixmatch_pack_unsup]
mix_pipeline = _base_.mix_pipeline[:-1] + [_base_.fixmatch_pack_mix]
labeled_dataset = dict(_base_.labeled_dataset, pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    _base_.unlabeled_dataset, pipeline=unlabeled_pipeline)
mix_dataset = dict(_base_.mix_dataset, pipeline=mix_pipeline)
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset, mix_dataset]))
model = dict(type='FixMatchSegmentor')
