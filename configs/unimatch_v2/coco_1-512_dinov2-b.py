# UniMatch V2, COCO (81 classes), 1/512 (232 labeled images, UniMatch's
# split), DINOv2-B + DPT, crop 518, 4 labeled + 4 unlabeled per GPU on 4 GPUs,
# AdamW lr 5e-6 (head x40), wd 0.01, poly 0.9, 20 unlabeled epochs,
# tau = 0.95, CE for L_x, whole-image evaluation resized to a multiple of 14
# (LiheYoung/UniMatch-V2 configs/coco.yaml, unimatch_v2.py). Recipe table:
# configs/unimatch_v2/README.md.
_base_ = [
    './_base_/dpt_dinov2.py', './_base_/data_coco.py',
    './_base_/schedule_adamw.py', '../_base_/default_runtime.py'
]
crop_size = (518, 518)
num_labeled = 232
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 81
model = dict(
    _delete_=True,
    type='UniMatchV2Segmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    # configs/coco.yaml:16; CutMix, Complementary Dropout and padding:
    # the segmentor's defaults (official values, README recipe table)
    semi_train_cfg=dict(conf_thresh=0.95),
    semi_test_cfg=dict(predict_on='teacher'))
# configs/coco.yaml:8
train_cfg = dict(max_epochs=20)
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
