# Unique name of configs/unimatch/voc_blended_1323_mmseg-arch.py for `mim train mmsss unimatch_voc_blended_1323_mmseg-arch.py`.
_base_ = '../unimatch/voc_blended_1323_mmseg-arch.py'
