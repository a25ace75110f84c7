# Unique name of configs/unimatch_v2/voc_1464_dinov2-s_frozen.py for `mim train mmsss unimatch_v2_voc_1464_dinov2-s_frozen.py`.
_base_ = '../unimatch_v2/voc_1464_dinov2-s_frozen.py'
