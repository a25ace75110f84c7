# Unique name of configs/unimatch/voc_1464.py for `mim train mmsss unimatch_voc_1464.py`.
_base_ = './voc_1464.py'
