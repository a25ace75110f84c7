# UniMatch V2, Cityscapes, 1/8 (372 labeled images, UniMatch's split),
# DINOv2-B + DPT, crop 798, 2 labeled + 2 unlabeled per GPU on 4 GPUs, AdamW
# lr 5e-6 (head x40), wd 0.01, poly 0.9, 180 unlabeled epochs, tau = 0.95,
# OHEM cross-entropy for L_x (thresh 0.7, min_kept 200000: util/ohem.py),
# sliding-window evaluation with 798 windows and stride 532 = int(798 * 2 / 3)
# summing softmax (supervised.py:47-65) (LiheYoung/UniMatch-V2
# configs/cityscapes.yaml, unimatch_v2.py). Recipe table:
# configs/unimatch_v2/README.md.
_base_ = [
    './_base_/dpt_dinov2.py', './_base_/data_cityscapes.py',
    './_base_/schedule_adamw.py', '../_base_/default_runtime.py'
]
crop_size = (798, 798)
num_labeled = 372
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 19
segmentor.decode_head.loss_decode = dict(
    type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=200000)
# supervised.py:47-65: windows at stride int(798 * 2 / 3), the last one moved
# back to end at the border (unlike UniMatch V1's, cut short), softmax summed
segmentor.test_cfg = dict(
    mode='slide_official',
    crop_size=(798, 798),
    stride=(532, 532),
    window='shift')
model = dict(
    _delete_=True,
    type='UniMatchV2Segmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    # cityscapes.yaml:18
    semi_train_cfg=dict(conf_thresh=0.95),
    semi_test_cfg=dict(predict_on='teacher'))
train_cfg = dict(max_epochs=180)
custom_hooks = [
    dict(
        type='MeanTeacherHook',
        decay_schedule='imas',
        max_decay=0.996,
        skip_buffers=False)
]
default_hooks = dict(
    checkpoint=dict(save_best='teacher/mIoU', rule='greater', save_last=True))
