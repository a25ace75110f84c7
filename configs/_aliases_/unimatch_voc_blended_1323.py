# Unique name of configs/unimatch/voc_blended_1323.py for `mim train mmsss unimatch_voc_blended_1323.py`.
_base_ = '../unimatch/voc_blended_1323.py'
