# Unique name of configs/unimatch/voc_183.py for `mim train mmsss unimatch_voc_183.py`.
_base_ = '../unimatch/voc_183.py'
