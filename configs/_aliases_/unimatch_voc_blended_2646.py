# Unique name of configs/unimatch/voc_blended_2646.py for `mim train mmsss unimatch_voc_blended_2646.py`.
_base_ = '../unimatch/voc_blended_2646.py'
