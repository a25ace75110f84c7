# Unique name of configs/imas/voc_1-4_official-arch.py for `mim train mmsss imas_voc_1-4_official-arch.py`.
_base_ = '../imas/voc_1-4_official-arch.py'
