# Unique name of configs/unimatch/voc_blended_662.py for `mim train mmsss unimatch_voc_blended_662.py`.
_base_ = '../unimatch/voc_blended_662.py'
