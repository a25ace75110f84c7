# UniMatch V2, ADE20K, 1/64 (316 labeled images, UniMatch V2's split),
# DINOv2-B + DPT, crop 518, 2 labeled + 2 unlabeled per GPU on 4 GPUs, AdamW
# lr 5e-6 (head x40), wd 0.01, poly 0.9, 60 unlabeled epochs, tau = 0.95,
# CE for L_x, whole-image evaluation resized to a multiple of 14
# (LiheYoung/UniMatch-V2 configs/ade20k.yaml, unimatch_v2.py). The encoder
# is trained (lock_backbone False), as in the official training logs of the
# published numbers (training-logs/table03-ade20k_unimatch_v2_*_dinov2_base
# .log); the shipped ade20k.yaml:21 says True, the table-7 frozen runs:
# ade20k_1-<d>_dinov2-b_frozen.py. Recipe table: configs/unimatch_v2/README.md.
_base_ = [
    './_base_/dpt_dinov2.py', './_base_/data_ade20k.py',
    './_base_/schedule_adamw.py', '../_base_/default_runtime.py'
]
crop_size = (518, 518)
num_labeled = 316
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 150
model = dict(
    _delete_=True,
    type='UniMatchV2Segmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    # configs/ade20k.yaml:16; CutMix, Complementary Dropout and padding:
    # the segmentor's defaults (official values, README recipe table)
    semi_train_cfg=dict(conf_thresh=0.95),
    semi_test_cfg=dict(predict_on='teacher'))
# configs/ade20k.yaml:8
train_cfg = dict(max_epochs=60)
# unimatch_v2.py:221-226: min(1 - 1/(t+1), 0.996), parameters and buffers
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.996,
        skip_buffers=False)
]
# published numbers: best EMA mIoU of the per-epoch evaluations
# (unimatch_v2.py:241, 258); the last checkpoint is the final model
default_hooks = dict(
    checkpoint=dict(save_best='teacher/mIoU', rule='greater', save_last=True))
