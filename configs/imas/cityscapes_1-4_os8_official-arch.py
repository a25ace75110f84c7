# iMAS, Cityscapes 1/4 (744 labels), DeepLabV3+ R50 at output stride 8
# (official config_semi_os8.yaml) + aux head, with the official network
# (configs/_base_/models/official_arch_overrides.py); the recipe is
# cityscapes_1-4_os8.py's. Weights: configs/imas/README.md, "Official
# networks and weights".
_base_ = ['./cityscapes_1-4_os8.py',
          '../_base_/models/official_arch_overrides.py']
model = dict(
    segmentor=dict(
        _base_.official_deeplabv3plus_r50_os8,
        auxiliary_head=_base_.official_auxiliary_head))
