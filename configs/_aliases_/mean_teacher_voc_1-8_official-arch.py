# Unique name of configs/mean_teacher/voc_1-8_official-arch.py for `mim train mmsss mean_teacher_voc_1-8_official-arch.py`.
_base_ = '../mean_teacher/voc_1-8_official-arch.py'
