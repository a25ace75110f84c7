# Unique name of configs/mean_teacher/synthetic_1-16.py for `mim train mmsss mean_teacher_synthetic_1-16.py`.
_base_ = '../mean_teacher/synthetic_1-16.py'
