# Unique name of configs/unimatch/voc_92_mmseg-arch.py for `mim train mmsss unimatch_voc_92_mmseg-arch.py`.
_base_ = '../unimatch/voc_92_mmseg-arch.py'
