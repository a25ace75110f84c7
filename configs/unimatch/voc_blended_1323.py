# UniMatch, PASCAL VOC 2012 blended (UniMatch's copy of the U2PL 1/8 split,
# 1,323 labeled images from the 10,582 augmented set), crop 513; otherwise
# as voc_732.py (the UniMatch README's "U2PL splits" rows).
_base_ = [
    './_base_/deeplabv3plus_r101-d16_unimatch.py',
    './_base_/data_voc_blended.py', '../_base_/schedules/semi_sgd_poly.py',
    '../_base_/default_runtime.py'
]
crop_size = (513, 513)
num_labeled = 1323
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
