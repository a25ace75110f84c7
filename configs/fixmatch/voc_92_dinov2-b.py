# FixMatch on DINOv2-B + DPT, PASCAL VOC 2012 classic, 92 labeled images:
# UniMatch V2's table-5 setting (fixmatch.py of LiheYoung/UniMatch-V2; log
# training-logs/table05-fixmatch_pascal_92labels_dinov2_base.log) with the
# FixMatch step of configs/fixmatch (teacher-free, one CutMix strong view
# mixed with the mix stream); network, data, optimiser, schedule and
# evaluation of ../unimatch/voc_92_dinov2-b.py. The V2 code's own FixMatch
# labels with an EMA teacher and mixes within the batch: see
# configs/unimatch_v2/README.md, "FixMatch, UniMatch V1 and supervised on
# DINOv2".
_base_ = '../unimatch/voc_92_dinov2-b.py'
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
