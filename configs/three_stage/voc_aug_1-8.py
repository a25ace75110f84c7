# Three-stage self-training, augmented VOC 2012 1/8 (1,323 labels), DeepLabV2
# ResNet-101 (ImageNet init: the official VOC runs start from Hung et al.'s
# COCO DeepLabV2, which mmseg does not provide; BN frozen as in the official
# code), Adam 3e-5
# (backbone x0.1), constant lr; stage 1: 10k steps of 10 labeled images;
# stages 2 and 3: 60k steps of 1 labeled + 9 of L ∪ U, λ1 = λ2 = 5/8, EMA decay
# 0.99 -> 0.995 -> 0.9975 -> 0.999 after 20k, 40k, 50k steps.
#   python tools/train_stages.py configs/three_stage/voc_aug_1-8.py
# The method's settings are in ../_base_/three_stage_deeplabv2_r101.py, the
# data (split 1323, crop 321) in ../_base_/datasets/three_stage_voc_aug.py.
_base_ = [
    '../_base_/three_stage_deeplabv2_r101.py',
    '../_base_/datasets/three_stage_voc_aug.py'
]
num_classes = 21
lambda_con, lambda_pl = 5 / 8, 5 / 8
stage1_iters = 10000
f_theta = _base_.f_theta
f_theta.data_preprocessor.size = _base_.crop_size
f_theta.decode_head.num_classes = num_classes
model = f_theta
train_cfg = dict(max_iters=stage1_iters)
multitask = dict(
    model=dict(
        segmentor=f_theta,
        data_preprocessor=dict(data_preprocessor=f_theta.data_preprocessor),
        semi_train_cfg=dict(con_weight=lambda_con, pl_weight=lambda_pl)),
    train_dataloader=_base_.mt_train_dataloader)
pseudo_masks = dict(dataset=_base_.pseudo_mask_dataset)
