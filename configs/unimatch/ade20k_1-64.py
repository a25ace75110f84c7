# UniMatch, ADE20K 150 classes, 1/64 (316 labeled images, UniMatch V2's
# split), UniMatch's DeepLabV3+ R-101 (OS 16, ASPP 6/12/18). UniMatch V1 has
# no ADE20K recipe: optimiser, crop and batch of its COCO recipe (the other
# many-class dataset; configs/coco.yaml: crop 513, SGD lr 0.004 (head x10),
# wd 1e-4, poly 0.9, 2 + 2 (+ 2 mix) per GPU on 4 GPUs, tau = 0.95,
# cross-entropy), the 60 unlabeled epochs of UniMatch V2's ADE20K recipe
# (UniMatch-V2 configs/ade20k.yaml:9); whole-image evaluation
# (unimatch_v2.py:239). UniMatch's pre-processed annotations
# (annotations='unimatch'; raw maps: annotations='raw').
_base_ = [
    './_base_/deeplabv3plus_r101-d16_unimatch.py', './_base_/data_ade20k.py',
    '../_base_/schedules/semi_sgd_poly.py', '../_base_/default_runtime.py'
]
crop_size = (513, 513)
num_labeled = 316
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 150
model = dict(
    _delete_=True,
    type='UniMatchSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(conf_thresh=0.95, mix_partner='same_image'),
    semi_test_cfg=dict(predict_on='student'))
# UniMatch configs/coco.yaml:10-11: lr 0.004, non-backbone x10
optim_wrapper = dict(optimizer=dict(lr=0.004))
# an epoch: len(trainloader_u) of the official DistributedSampler +
# DataLoader(drop_last=True), unimatch.py:86-93
train_cfg = dict(max_epochs=60, epoch_length='per_rank_drop_last')
default_hooks = dict(
    checkpoint=dict(save_best='student/mIoU', rule='greater'))
