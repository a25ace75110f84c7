# Unique name of configs/unimatch/voc_1464.py for `mim train mmsss unimatch_voc_1464.py`.
_base_ = '../unimatch/voc_1464.py'
