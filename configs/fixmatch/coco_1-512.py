# FixMatch baseline of the UniMatch code (LiheYoung/UniMatch fixmatch.py),
# COCO 81 classes, 1/512 (232 labeled images): one CutMix strong view, no
# feature perturbation, L = (L_x + L_s) / 2; network, data, optimiser and
# schedule of configs/unimatch/coco_1-512.py.
_base_ = '../unimatch/coco_1-512.py'
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
