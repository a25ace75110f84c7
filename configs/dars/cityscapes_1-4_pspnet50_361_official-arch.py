# DARS, Cityscapes 1/4 (744 labels), PSPNet-50 at crop 361, as semseg's
# (deep-base ResNet-50 from resnet50_v2.pth), with the official network
# (configs/_base_/models/official_arch_overrides.py); the recipe is
# cityscapes_1-4_pspnet50_361.py's. Weights: configs/dars/README.md, "Official
# networks and weights".
_base_ = ['./cityscapes_1-4_pspnet50_361.py',
          '../_base_/models/official_arch_overrides.py']
model = _base_.official_pspnet_r50
