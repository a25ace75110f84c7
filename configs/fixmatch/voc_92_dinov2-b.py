# FixMatch on DINOv2-B + DPT, PASCAL VOC 2012 classic, 92 labeled images:
# the V2 repository's own FixMatch (fixmatch.py of LiheYoung/UniMatch-V2,
# its table 5; log training-logs/table05-fixmatch_pascal_92labels_dinov2_
# base.log): UniMatchV2Segmentor with one strong view and no Complementary
# Dropout (fixmatch.py:164-193: EMA teacher min(1 - 1/(t+1), 0.996) labels
# the weak view, one CutMix box mixed within the batch, flip(0),
# L = (L_x + L_s) / 2, tau 0.95). Network, data, optimiser, schedule and
# evaluation of ../unimatch_v2/voc_92_dinov2-b.py (4 + 4 per GPU on 4 GPUs,
# crop 518, AdamW lr 5e-6, head x40, 60 epochs). The V1 FixMatch step
# (teacher-free, mix stream): configs/fixmatch/voc_92.py on this network,
# see configs/unimatch_v2/README.md, "FixMatch, UniMatch V1 and supervised
# on DINOv2".
_base_ = '../unimatch_v2/voc_92_dinov2-b.py'
# ../unimatch_v2/_base_/branches.py: the V2 packing with one strong view
# (fixmatch.py:164-165 unpacks img_u_s1 and cutmix_box1 only)
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
