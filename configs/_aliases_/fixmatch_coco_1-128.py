# Unique name of configs/fixmatch/coco_1-128.py for `mim train mmsss fixmatch_coco_1-128.py`.
_base_ = '../fixmatch/coco_1-128.py'
