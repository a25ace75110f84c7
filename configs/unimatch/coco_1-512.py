# UniMatch, COCO 81 classes, 1/512 (232 labeled images, UniMatch's split;
# unlabeled: the rest of train2017), crop 513, 2 labeled + 2 unlabeled (+ 2
# mix) per GPU on 4 GPUs, SGD lr 0.004 (head x10), wd 1e-4, poly 0.9, 30
# unlabeled epochs, tau = 0.95, cross-entropy, whole-image evaluation
# (LiheYoung/UniMatch configs/coco.yaml, unimatch.py). Network: UniMatch's
# DeepLabV3+ R-101 (OS 16, ASPP 6/12/18) instead of the official Xception-65,
# which neither mmseg nor mmpretrain has (configs/unimatch/README.md,
# "network").
_base_ = [
    './_base_/deeplabv3plus_r101-d16_unimatch.py', './_base_/data_coco.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (513, 513)
num_labeled = 232
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 81
model = dict(
    _delete_=True,
    type='UniMatchSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(conf_thresh=0.95, mix_partner='same_image'),
    semi_test_cfg=dict(predict_on='student'))
# configs/coco.yaml:10-11: lr 0.004, non-backbone x10
optim_wrapper = dict(optimizer=dict(lr=0.004))
# an epoch: len(trainloader_u) of the official DistributedSampler +
# DataLoader(drop_last=True), unimatch.py:86-93
train_cfg = dict(max_epochs=30, epoch_length='per_rank_drop_last')
default_hooks = dict(
    checkpoint=dict(save_best='student/mIoU', rule='greater'))
