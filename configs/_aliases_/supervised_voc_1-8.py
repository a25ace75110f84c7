# Unique name of configs/supervised/voc_1-8.py for `mim train mmsss supervised_voc_1-8.py`.
_base_ = '../supervised/voc_1-8.py'
