# Unique name of configs/mean_teacher/voc_1-16.py for `mim train mmsss mean_teacher_voc_1-16.py`.
_base_ = '../mean_teacher/voc_1-16.py'
