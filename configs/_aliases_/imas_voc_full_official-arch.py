# Unique name of configs/imas/voc_full_official-arch.py for `mim train mmsss imas_voc_full_official-arch.py`.
_base_ = '../imas/voc_full_official-arch.py'
