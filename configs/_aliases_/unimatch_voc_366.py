# Unique name of configs/unimatch/voc_366.py for `mim train mmsss unimatch_voc_366.py`.
_base_ = '../unimatch/voc_366.py'
