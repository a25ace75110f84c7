# Unique name of configs/fixmatch/coco_1-64.py for `mim train mmsss fixmatch_coco_1-64.py`.
_base_ = '../fixmatch/coco_1-64.py'
