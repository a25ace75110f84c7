# FixMatch of the UniMatch V2 repository (fixmatch.py:164-193) on the
# synthetic shapes dataset, 1/16 labels, on the tiny DINOv2-shaped ViT of
# ../unimatch_v2/synthetic_1-16.py: everything of that config (network,
# data, 70-px crops, 4 labeled + 4 unlabeled, AdamW, 1,500 iterations, EMA
# teacher, evaluation) with one strong view and no Complementary Dropout,
# as ./voc_92_dinov2-b.py. For the comparison of configs/unimatch_v2/
# README.md, "Synthetic comparison".
_base_ = '../unimatch_v2/synthetic_1-16.py'
labeled_pipeline = _base_.labeled_pipeline[:-1] + [_base_.fixmatch_pack_sup]
unlabeled_pipeline = \
    _base_.unlabeled_pipeline[:-1] + [_base_.fixmatch_pack_unsup]
labeled_dataset = dict(_base_.labeled_dataset, pipeline=labeled_pipeline)
unlabeled_dataset = dict(
    _base_.unlabeled_dataset, pipeline=unlabeled_pipeline)
train_dataloader = dict(
    dataset=dict(datasets=[labeled_dataset, unlabeled_dataset]))
model = dict(
    semi_train_cfg=dict(num_strong_views=1, complementary_dropout=None))
