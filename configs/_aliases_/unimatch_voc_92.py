# Unique name of configs/unimatch/voc_92.py for `mim train mmsss unimatch_voc_92.py`.
_base_ = '../unimatch/voc_92.py'
