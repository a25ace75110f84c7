# Unique name of configs/supervised/voc_1-8_official-arch.py for `mim train mmsss supervised_voc_1-8_official-arch.py`.
_base_ = '../supervised/voc_1-8_official-arch.py'
