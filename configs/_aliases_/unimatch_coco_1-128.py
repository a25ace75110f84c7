# Unique name of configs/unimatch/coco_1-128.py for `mim train mmsss unimatch_coco_1-128.py`.
_base_ = '../unimatch/coco_1-128.py'
