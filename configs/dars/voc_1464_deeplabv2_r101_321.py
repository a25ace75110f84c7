# DARS, PASCAL VOC 2012 1,464 labeled + 9,118 unlabeled, DeepLabV2
# ResNet-101, crop 321: not an official setting (the official VOC recipe is
# PSPNet-50, voc_1464_pspnet50_321.py, and the official code has no VOC
# DeepLabV2 recipe). Everything as voc_1464_pspnet50_321.py (rounds, α,
# scale ranges, 50 epochs per round, base size 400 with 321 windows) except
# the network, the official DARS DeepLabV2 of
# cityscapes_1-8_deeplabv2_r101_361.py (_base_/models/deeplabv2_r101_dars.py:
# torchvision ResNet-101, frozen-affine BN without sync, ASPP-v2 summing
# rates 6 and 12, no auxiliary head) with its lr 0.002 (head x10).
_base_ = [
    './voc_1464_pspnet50_321.py', '../_base_/models/deeplabv2_r101_dars.py'
]
model = dict(_base_.dars_deeplabv2)
model.update(
    _delete_=True,
    type='SelfTrainingSegmentor',
    pseudo_weight=1.0,
    data_preprocessor=_base_.model.data_preprocessor,
    test_cfg=_base_.model.test_cfg)
model['decode_head'] = dict(model['decode_head'], num_classes=21)
# lr 0.002; layer4 and the classifier x10 (official index_split = 5)
optim_wrapper = _base_.dars_deeplabv2_optim_wrapper
