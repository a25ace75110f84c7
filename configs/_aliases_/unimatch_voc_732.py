# Unique name of configs/unimatch/voc_732.py for `mim train mmsss unimatch_voc_732.py`.
_base_ = '../unimatch/voc_732.py'
