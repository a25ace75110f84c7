# Unique name of configs/mean_teacher/voc_full.py for `mim train mmsss mean_teacher_voc_full.py`.
_base_ = '../mean_teacher/voc_full.py'
