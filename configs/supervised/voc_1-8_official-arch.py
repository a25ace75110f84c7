# Supervised only, PASCAL VOC classic 1/8 (183 labels), DeepLabV3+ R101, with
# the official network (configs/_base_/models/official_arch_overrides.py); the
# recipe is voc_1-8.py's. Weights: configs/imas/README.md, "Official networks
# and weights".
_base_ = ['./voc_1-8.py', '../_base_/models/official_arch_overrides.py']
model = _base_.official_deeplabv3plus_r101
