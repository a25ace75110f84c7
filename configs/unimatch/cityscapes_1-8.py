# UniMatch, Cityscapes, 1/8 (372 labeled images, UniMatch's split), DeepLabV3+
# R-101 (OS 16, ASPP 6/12/18), crop 801, 2 + 2 (+ 2 mix) per GPU on 4 GPUs,
# SGD lr 0.005 (head x1), wd 1e-4, poly 0.9, 240 unlabeled epochs, tau = 0
# (every non-padding pixel), OHEM cross-entropy for L_x (thresh 0.7,
# min_kept 200000, mean over the kept pixels: util/ohem.py), sliding-window
# evaluation with 801 windows and stride 534 = int(801 * 2 / 3)
# (supervised.py:44-57) (LiheYoung/UniMatch configs/cityscapes.yaml).
_base_ = [
    './_base_/deeplabv3plus_r101-d16_unimatch.py',
    './_base_/data_cityscapes.py', '../_base_/schedules/semi_sgd_poly.py',
    '../_base_/default_runtime.py'
]
crop_size = (801, 801)
num_labeled = 372
segmentor = _base_.model
segmentor.data_preprocessor.size = crop_size
segmentor.decode_head.num_classes = 19
segmentor.decode_head.loss_decode = dict(
    type='U2PLOhemCrossEntropy', thresh=0.7, min_kept=200000)
# supervised.py:44-57: windows cut at the border, softmax summed
segmentor.test_cfg = dict(
    mode='slide_official', crop_size=(801, 801), stride=(534, 534))
model = dict(
    _delete_=True,
    type='UniMatchSegmentor',
    segmentor=segmentor,
    data_preprocessor=dict(
        type='MultiBranchSegDataPreProcessor',
        data_preprocessor=segmentor.data_preprocessor),
    semi_train_cfg=dict(conf_thresh=0.0, mix_partner='same_image'),
    semi_test_cfg=dict(predict_on='student'))
optim_wrapper = dict(
    optimizer=dict(lr=0.005),
    paramwise_cfg=dict(
        custom_keys=dict(
            decode_head=dict(lr_mult=1.), auxiliary_head=dict(lr_mult=1.))))
# an epoch: len(trainloader_u) of the official DistributedSampler +
# DataLoader(drop_last=True), unimatch.py:86-93
train_cfg = dict(max_epochs=240, epoch_length='per_rank_drop_last')
default_hooks = dict(
    checkpoint=dict(save_best='student/mIoU', rule='greater'))
