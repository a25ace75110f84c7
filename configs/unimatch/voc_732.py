# UniMatch, PASCAL VOC 2012 classic, 732 labeled images, DeepLabV3+ R-101
# (OS 16, ASPP 6/12/18), crop 321, 2 labeled + 2 unlabeled (+ 2 mix) per
# GPU on 4 GPUs, SGD lr 0.001 (head x10), wd 1e-4, poly 0.9, 80 unlabeled
# epochs, tau = 0.95, L = (L_x + 0.25 L_s1 + 0.25 L_s2 + 0.5 L_fp) / 2
# (LiheYoung/UniMatch configs/pascal.yaml, unimatch.py). Teacher-free: no
# MeanTeacherHook; validation and test use the trained model itself.
_base_ = [
    './_base_/deeplabv3plus_r101-d16_unimatch.py',
    './_base_/data_voc_classic.py', '../_base_/schedules/semi_sgd_poly.py',
    '../_base_/default_runtime.py'
]
crop_size = (321, 321)
num_labeled = 732
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
model = dict(
    _delete_=True,
    type='UniMatchSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(conf_thresh=0.95, mix_partner='same_image'),
    semi_test_cfg=dict(predict_on='student'))
# an epoch: len(trainloader_u) of the official DistributedSampler +
# DataLoader(drop_last=True), unimatch.py:86-93
train_cfg = dict(max_epochs=80, epoch_length='per_rank_drop_last')
default_hooks = dict(
    checkpoint=dict(save_best='student/mIoU', rule='greater'))
