# UniMatch V2, PASCAL VOC 2012 classic, 732 labeled images, DINOv2-B + DPT,
# crop 518, 4 labeled + 4 unlabeled per GPU on 4 GPUs, AdamW lr 5e-6
# (head x40), wd 0.01, poly 0.9, 60 unlabeled epochs, tau = 0.95, EMA teacher
# min(1 - 1/(t+1), 0.996), L = (L_x + (L_s1 + L_s2) / 2) / 2
# (LiheYoung/UniMatch-V2 configs/pascal.yaml, unimatch_v2.py). Recipe table:
# configs/unimatch_v2/README.md.
_base_ = [
    './_base_/dpt_dinov2.py', './_base_/data_voc.py',
    './_base_/schedule_adamw.py', '../_base_/default_runtime.py'
]
crop_size = (518, 518)
num_labeled = 732
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='UniMatchV2Segmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    # pascal.yaml:16; CutMix, Complementary Dropout and padding: the
    # segmentor's defaults (official values, README recipe table)
    semi_train_cfg=dict(conf_thresh=0.95),
    semi_test_cfg=dict(predict_on='teacher'))
# unimatch_v2.py:221-226: min(1 - 1/(t+1), 0.996) after every iteration t
# (0-based) from the first, parameters and buffers
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.996,
        skip_buffers=False)
]
# the published numbers are the best EMA mIoU of the per-epoch evaluations
# (unimatch_v2.py:241, 258): best_teacher_mIoU_*.pth; the last checkpoint is
# the final model
default_hooks = dict(
    checkpoint=dict(save_best='teacher/mIoU', rule='greater', save_last=True))
