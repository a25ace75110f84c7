# DARS, Cityscapes 1/8, DeepLabV2 ResNet-101 at crop 361: reproduces
# CVMI-Lab/DARS config/cityscapes/train_deeplabv2_cityscapes_split8_crop361_
# round{0,1,2}.yaml and gen_pseudo_label_deeplabv2_cityscapes_split8_
# crop361_for_round{1,2}.yaml (tool/scripts/train_deeplabv2_cityscapes_
# split8_crop361.sh): the official DeepLabV2 (_base_/models/
# deeplabv2_r101_dars.py: torchvision ResNet-101, frozen-affine BN without
# sync, ASPP-v2 summing rates 6 and 12, no auxiliary head), SGD lr 0.002
# (head x10), α 0.2 -> 0.45, random scale [0.25, 1.0] in every round,
# pseudo-labels and evaluation at base size 1024. Launch on 2 GPUs, as the
# official yamls (BN is per GPU, so the per-GPU batch matters): round 0 at
# 8 images per GPU, 200 epochs of the 2,603-image labeled_match_len list
# (32,400 iterations); rounds 1-2 at 2 labeled + 2 pseudo-labeled per GPU,
# 200 epochs of the unlabeled set each (130,200 iterations).
_base_ = [
    './cityscapes_1-8_pspnet50_361.py', '../_base_/models/deeplabv2_r101_dars.py'
]
model = dict(_base_.dars_deeplabv2)
model.update(
    _delete_=True,
    type='SelfTrainingSegmentor',
    pseudo_weight=1.0,
    data_preprocessor=_base_.model.data_preprocessor,
    test_cfg=_base_.model.test_cfg)
# lr 0.002; layer4 and the classifier x10 (official index_split = 5)
optim_wrapper = _base_.dars_deeplabv2_optim_wrapper
train_dataloader = dict(batch_size=8)
train_cfg = _base_.train_cfg
# round 0 iterates over cs_split8_labeled_match_len.txt (the labeled list
# repeated to the unlabeled set's 2,603 lines): an epoch of 2,603 images
train_cfg.rounds[0].epoch_over = 'unlabeled'
train_cfg.rounds[1].label_ratio = 0.2
train_cfg.rounds[2].label_ratio = 0.45
train_cfg.rounds[2].ratio_range = (0.25, 1.0)
train_cfg.round_dataloader.batch_size = 4
train_cfg.round_dataloader.sampler.batch_size = 4  # 2 labeled + 2 pseudo
