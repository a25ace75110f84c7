# Three-stage self-training, Cityscapes 1/8 (372 labels), DeepLabV2
# ResNet-101 (ImageNet init, BN frozen as in the official code), Adam 3e-5
# (backbone x0.1), constant lr; stage 1: 20k steps of 4 labeled images;
# stages 2 and 3: 60k steps of 1 labeled + 4 of L ∪ U, λ1 = λ2 = ½, EMA decay
# 0.99 -> 0.995 -> 0.9975 -> 0.999 after 20k, 40k, 50k steps.
#   python tools/train_stages.py configs/three_stage/cityscapes_372.py
# The method's settings are in ../_base_/three_stage_deeplabv2_r101.py, the
# data (split 372, crop 256x512) in
# ../_base_/datasets/three_stage_cityscapes.py.
_base_ = [
    '../_base_/three_stage_deeplabv2_r101.py',
    '../_base_/datasets/three_stage_cityscapes.py'
]
num_classes = 19
f_theta = _base_.f_theta
f_theta.data_preprocessor.size = _base_.crop_size
f_theta.decode_head.num_classes = num_classes
model = f_theta
multitask = dict(
    model=dict(
        segmentor=f_theta,
        data_preprocessor=dict(data_preprocessor=f_theta.data_preprocessor)),
    train_dataloader=_base_.mt_train_dataloader)
pseudo_masks = dict(dataset=_base_.pseudo_mask_dataset)
