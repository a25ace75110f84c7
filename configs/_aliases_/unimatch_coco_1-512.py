# Unique name of configs/unimatch/coco_1-512.py for `mim train mmsss unimatch_coco_1-512.py`.
_base_ = '../unimatch/coco_1-512.py'
