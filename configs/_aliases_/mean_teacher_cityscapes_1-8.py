# Unique name of configs/mean_teacher/cityscapes_1-8.py for `mim train mmsss mean_teacher_cityscapes_1-8.py`.
_base_ = '../mean_teacher/cityscapes_1-8.py'
