# Unique name of configs/mean_teacher/ade20k_1-8.py for `mim train mmsss mean_teacher_ade20k_1-8.py`.
_base_ = '../mean_teacher/ade20k_1-8.py'
