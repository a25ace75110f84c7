# Unique name of configs/unimatch_v2/voc_732_dinov2-l.py for `mim train mmsss unimatch_v2_voc_732_dinov2-l.py`.
_base_ = '../unimatch_v2/voc_732_dinov2-l.py'
