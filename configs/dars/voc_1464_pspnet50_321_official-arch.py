# DARS, PASCAL VOC 1,464 labels, PSPNet-50 as semseg's (deep-base ResNet-50
# from resnet50_v2.pth), with the official network
# (configs/_base_/models/official_arch_overrides.py); the recipe is
# voc_1464_pspnet50_321.py's. Weights: configs/dars/README.md, "Official
# networks and weights".
_base_ = ['./voc_1464_pspnet50_321.py',
          '../_base_/models/official_arch_overrides.py']
model = _base_.official_pspnet_r50
